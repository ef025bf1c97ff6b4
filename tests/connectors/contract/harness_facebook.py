"""Contract harness for the Facebook plug-in: a loopback fake of the Graph API of our own, serving the
documented payload shapes (tests/connectors/data/meta/), with comments, replies and Messenger threads
that a test can add to and that count what was really created."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

from agentconsole import secrets
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from tests.connectors.contract.conftest import GOOD, NOW, Harness
from tests.connectors.contract.fakeserver import HttpServer, Reply, Request

DATA = Path(__file__).resolve().parents[1] / "data" / "meta"
PAGE = {"id": "102030405060708", "name": "Corner Bakery"}
CUSTOMER = {"id": "6123456789012345", "name": "Dana Kim"}
PSID = "7109999999999999"  # the same customer as Messenger names them (page-scoped)
POST_ID = f"{PAGE['id']}_1234567890123456"
TOP = "1234567890123456_998877665500001"  # the customer's comment our contract replies answer
POISON_DATES = {"year_one": "0001-01-01T00:00:00+0000", "overflow": "1e999", "nan": "NaN"}
BUC = "X-Business-Use-Case-Usage"


def payload(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def buc(percent: int, minutes: int = 0) -> str:
    return json.dumps({PAGE["id"]: [{"type": "pages", "call_count": percent, "total_cputime": 5,
                                     "total_time": 5, "estimated_time_to_regain_access": minutes}]})


class FakeGraph:
    """The Graph endpoints the connector calls, over a few lists: posts' comments, conversations."""

    instagram = False

    def __init__(self, clock, deadline: float) -> None:
        self.clock = clock
        self.deadline = deadline
        self.own = dict(PAGE)
        self.comments: list[dict] = []  # every comment on the one post, replies with a "parent"
        self.messages: list[dict] = []  # every Messenger message, with "thread" (the customer's id)
        self.private_replied: set[str] = set()
        self.fault: str | None = None
        self.send_fault: str | None = None
        self.lookups_fail = False
        self.usage = 10
        self.regain = 0
        self.swaps: dict[bytes, bytes] = {}
        self.server = HttpServer(self.answer)
        self.counter = 0

    # ------------------------------------------------------------------ state

    def next_id(self) -> str:
        self.counter += 1
        return f"1234567890123456_99887766{self.counter:07d}"

    def add_comment(self, who: dict, text: str, *, parent: str | None = None, comment_id: str | None = None,
                    at: float | str | None = None) -> dict:
        when = at if isinstance(at, str) else iso(at if at is not None else NOW - 3600 + self.counter)
        comment = {"id": comment_id or self.next_id(), "message": text, "from": who, "created_time": when,
                   "can_reply_privately": True}
        if parent:
            comment["parent"] = parent
        self.comments.append(comment)
        return comment

    def add_message(self, who: dict, text: str, thread: str, *, at: float | None = None, **more) -> dict:
        self.counter += 1
        message = {"id": f"m_{uuid.uuid4().hex}{self.counter}", "message": text, "from": who,
                   "created_time": iso(at if at is not None else self.clock.now()), "thread": thread, **more}
        self.messages.append(message)
        return message

    def own_comments(self, text: str) -> list[str]:
        return [c["id"] for c in self.comments if c["from"]["id"] == self.own["id"] and c["message"] == text]

    # ------------------------------------------------------------------ answering

    def answer(self, request: Request) -> Reply:
        path = re.sub(r"^/v\d+\.\d+", "", request.path)
        if self.fault == "auth":
            return Reply.json(payload("errors.json")["token"], 400)
        headers = {BUC: buc(self.usage, self.regain)}
        if request.method == "GET":
            reply = self.faulty() if path.endswith(("/conversations", "/feed", "/media")) else None
            reply = reply or self.get(path, request)
        else:
            reply = self.post(path, request)
        reply.headers = {**headers, **reply.headers}
        for mark, poison in self.swaps.items():
            reply.body = reply.body.replace(mark, poison)
        return reply

    def get(self, path: str, request: Request) -> Reply:
        if path in ("/me", f"/{self.own['id']}"):
            return Reply.json(self.own)
        if path == "/debug_token":
            return Reply.json({"data": {"type": "PAGE", "is_valid": True, "scopes": [
                "pages_show_list", "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
                "pages_read_user_content", "pages_manage_engagement"]}})
        if path.endswith("/conversations"):
            return Reply.json({"data": self.conversations(request.param("user_id"))})
        if path.endswith(("/feed", "/media")):
            return Reply.json({"data": [self.post_body()]})
        if path.endswith(("/comments", "/replies")):
            if self.lookups_fail:
                return Reply.json({"error": {"message": "An unknown error occurred", "code": 1}}, 500)
            parent = path.split("/")[1]
            kids = [self.shown(c) for c in reversed(self.comments) if c.get("parent") == parent]
            return Reply.json({"data": kids})
        match = re.fullmatch(r"/([^/]+)", path)
        if match:
            found = [c for c in self.comments if c["id"] == match.group(1)]
            if found:
                return Reply.json({"id": found[0]["id"], "can_reply_privately": found[0]["id"] not in self.private_replied})
        return Reply.json({"error": {"message": "Unsupported get request.", "type": "GraphMethodException",
                                     "code": 100, "error_subcode": 33}}, 400)

    def shown(self, comment: dict) -> dict:
        return {k: v for k, v in comment.items() if k != "parent"}

    def post_body(self) -> dict:
        tops = [c for c in reversed(self.comments) if "parent" not in c]
        body = []
        for top in tops:
            kids = [self.shown(c) for c in self.comments if c.get("parent") == top["id"]]
            body.append({**self.shown(top), "comments": {"data": kids}})
        return {"id": POST_ID, "message": "New sourdough every Saturday", "created_time": iso(NOW - 86400),
                "comments": {"data": body}}

    def conversations(self, user: str | None) -> list[dict]:
        threads: dict[str, list[dict]] = {}
        for message in self.messages:
            threads.setdefault(message["thread"], []).append(message)
        out = []
        for thread, messages in threads.items():
            if user and thread != user:
                continue
            newest = max(m["created_time"] for m in messages)
            shown = [{k: v for k, v in m.items() if k != "thread"} for m in reversed(messages)]
            out.append({"id": f"t_{thread}", "updated_time": newest,
                        "participants": {"data": [{"id": thread, "name": "Dana Kim"}, self.own]},
                        "messages": {"data": shown[:20]}})
        return sorted(out, key=lambda c: c["updated_time"], reverse=True)

    def post(self, path: str, request: Request) -> Reply:
        fault, self.send_fault = self.send_fault, None
        if fault == "refused":  # throttled: Meta does not execute a call it rate-limits
            return Reply.json(payload("errors.json")["rate_613"], 400, **{BUC: buc(100, 1)})
        if fault == "lost":
            return Reply(drop=True)
        if fault in ("window", "restricted", "unavailable", "token"):  # Meta's refusals of one message
            return Reply.json(payload("errors.json")[fault], 400)
        body = json.loads(request.body) if request.headers.get("content-type", "").startswith("application/json") \
            else dict(_form(request.body))
        target = next((c for c in self.comments if path == f"/{c['id']}"), None)
        if target is not None:  # moderation: hide / unhide (POST) or delete
            if request.method == "DELETE":
                self.comments.remove(target)
            else:
                target["is_hidden"] = str(body.get("hide", body.get("is_hidden"))) == "true"
            return Reply.json({"success": True})
        created = self.create(path, body)
        if fault == "forgetful":
            self.lookups_fail = True
        answer = created if isinstance(created, Reply) else Reply.json(created)
        if fault in ("drop", "forgetful"):
            return Reply(drop=True)
        if fault == "timeout":
            answer.delay = self.deadline * 3
        if fault == "slow":
            answer.trickle = self.deadline * 3 / 40
        return answer

    def create(self, path: str, body: dict) -> dict | Reply:
        if path.endswith(("/comments", "/replies")):
            parent = path.split("/")[1]
            return {"id": self.add_comment(self.own, str(body.get("message", "")), parent=parent,
                                           at=self.clock.now())["id"]}
        if path.endswith("/messages"):
            recipient = body.get("recipient") or {}
            text = (body.get("message") or {}).get("text", "")
            if "comment_id" in recipient:
                if recipient["comment_id"] in self.private_replied:
                    return Reply.json(payload("errors.json")["private_reply_used"], 400)
                self.private_replied.add(recipient["comment_id"])
                message = self.add_message(self.own, text, PSID)
                return {"recipient_id": PSID, "message_id": message["id"]}
            thread = str(recipient.get("id"))
            mine = [m for m in self.messages if m["thread"] == thread and m["from"]["id"] != self.own["id"]]
            last = max((_epoch(m["created_time"]) for m in mine), default=None)
            age = None if last is None else self.clock.now() - last
            tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
            if age is None or age >= 7 * 86400 or (age >= 86400 and not tagged):
                return Reply.json(payload("errors.json")["window"], 400)
            message = self.add_message(self.own, text, thread, sent_with=body.get("messaging_type"))
            return {"recipient_id": thread, "message_id": message["id"]}
        if path.endswith("/feed"):
            return {"id": f"{self.own['id']}_{uuid.uuid4().int % 10**15}"}
        return Reply.json({"error": {"message": "Unknown path", "code": 100}}, 400)

    def faulty(self) -> Reply | None:
        garbage = {"id": "9" * 30, "message": "<b>not a comment</b>", "comments": "x", "messages": "x"}
        return {
            "rate_limit": Reply.json(payload("errors.json")["rate_32"], 400, **{BUC: buc(100, 2)}),
            "server_error": Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
            "malformed": Reply(200, b"<html>this is not json", {"Content-Type": "application/json"}),
            "dropped": Reply(drop=True),
            "trickle": Reply(200, json.dumps({"data": []}).encode() + b" " * 200,
                             {"Content-Type": "application/json"}, trickle=0.05),
            "garbage": Reply.json({"data": [{"id": None}, {"foo": 1}, "x", garbage] * 10}),
            "huge": Reply.json({"data": [{"id": str(n), "message": "spam " * 50_000} for n in range(40)]}),
            "garbage_id": Reply.json({"data": [{"id": "99999999999999999999", "updated_time": "2099-01-01T00:00:00+0000",
                                                "comments": {"data": [{"id": "99999999999999999999"}]},
                                                "messages": {"data": [{"id": "99999999999999999999"}]}}]}),
        }.get(self.fault or "")


def _form(body: bytes):
    from urllib.parse import parse_qsl

    return parse_qsl(body.decode())


def _epoch(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp()


class FacebookHarness(Harness):
    name = "facebook"
    not_applicable = {"send:window": "Meta has no idempotency key: an unanswered send is looked up, never "
                                     "resent under a key",
                      "listen": "the Graph API has no public post search for a Page or a professional account "
                                "(Instagram's hashtag search is limited to 30 tags a week and needs App Review): "
                                "only comments and messages addressed to us are read"}
    fake_class = FakeGraph

    def __init__(self, tmp_path, monkeypatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.fake = self.fake_class(self.clock, self.deadline)

    async def start(self) -> None:
        await self.fake.server.start()
        self.monkeypatch.setenv(secrets.env_var_name("shop"), "contract-page-token")

    async def stop(self) -> None:
        await self.fake.server.stop()

    def account(self) -> AccountRow:
        return AccountRow(1, "shop", self.name, self.name, self.fake.own.get("name", ""), self.fake.own.get("name", ""),
                          {"account_id": self.fake.own["id"], "graph_url": self.fake.server.url,
                           "deadline": self.deadline, "graph_version": "v26.0"}, False)

    async def seed(self, count: int) -> int:
        for n in range(count):
            self.fake.add_comment(CUSTOMER, f"{GOOD}: question {self.fake.counter + 1}?")
        return count

    async def inject(self, fault: str) -> None:
        self.fake.fault = fault

    def clear(self) -> None:
        self.fake.fault = None

    def position(self, cursor: str | None) -> object:
        state = json.loads(cursor) if cursor else {}
        return state.get("dm"), state.get("cm")

    async def open_sends(self) -> None:
        self.fake.add_comment(CUSTOMER, "where is my order?", comment_id=TOP, at=NOW - 7200)

    def send_request(self, text: str) -> OutboundRequest:
        return OutboundRequest(uuid.uuid4().hex, "reply", text, thread_key=TOP, in_reply_to=TOP,
                               recipient=Person(CUSTOMER["id"], "", CUSTOMER["name"]), kind=Kind.PUBLIC)

    async def fault_send(self, fault: str) -> None:
        self.fake.send_fault = fault

    async def lookup_authoritative(self) -> None:
        pass  # reading our own replies back under a comment is authoritative

    def lookups_back(self) -> None:
        self.fake.lookups_fail = False

    async def delivered(self, request: OutboundRequest) -> list[str]:
        return self.fake.own_comments(request.text)

    async def seed_poison(self, poison: str, good: int) -> int:
        text, created = "poisoned item: the rest", None
        if poison in POISON_DATES:
            created = POISON_DATES[poison]
        elif poison == "surrogate":
            text = "poisoned item \ud800 the rest"
        elif poison in ("invalid_utf8", "c1"):
            self.fake.swaps[b"POISON-BYTES"] = b"\xff\xfe\xc3" if poison == "invalid_utf8" else b"\xc2\x9b2J"
            text = "poisoned item POISON-BYTES the rest"
        elif poison == "osc":
            text = "poisoned item \x1b]0;unterminated title and the rest"
        elif poison == "tags":
            text = "poisoned item \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 the rest"
        elif poison == "huge":
            text = "poisoned item " + "spam " * 240_000 + "the rest"
        for n in range(good + 1):
            if n == good // 2:
                self.fake.add_comment(CUSTOMER, text, at=created)
            else:
                self.fake.add_comment(CUSTOMER, f"{GOOD} {n}: where is my order?")
        return good


def make_harness(tmp_path, monkeypatch, request) -> FacebookHarness:
    return FacebookHarness(tmp_path, monkeypatch)
