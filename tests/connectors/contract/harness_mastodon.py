"""Contract harness for the Mastodon plug-in: a loopback HTTP server of our own serving the documented
payloads (tests/connectors/mastodon_payloads.py, from the API documentation's entity examples)."""

from __future__ import annotations

import html
import json
import uuid
from datetime import datetime, timezone

from agentconsole import secrets
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from connectors.mastodon import IDEMPOTENCY_KEY_SECONDS
from tests.connectors.contract.conftest import GOOD, Harness
from tests.connectors.contract.fakeserver import HttpServer, Reply, Request
from tests.connectors.mastodon_payloads import CUSTOMER, OWN, instance, notification, status

FIRST_ID = 110_000_000_000_000_000  # realistic snowflake-sized ids
PARENT_ID = "109999999999999999"
POISON_DATES = {"year_one": "0001-01-01T00:00:00Z", "overflow": "1e999", "nan": "NaN"}  # the customer's status our replies answer


class MastodonHarness(Harness):
    name = "mastodon"
    not_applicable: dict[str, str] = {}

    def __init__(self, tmp_path, monkeypatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.server = HttpServer(self.answer)
        self.notifications: list[dict] = []
        self.fault: str | None = None
        # The sending side: our statuses as created (newest last), the keys remembered (by the
        # harness's clock, so a test can let the window pass), the next POST's fault.
        self.statuses: list[dict] = []
        self.keys: dict[str, tuple[float, dict]] = {}
        self.send_fault: str | None = None
        self.lookups_fail = False
        self.posts = 0
        self.swaps: dict[bytes, bytes] = {}  # byte-level poison put into the notification pages
        self.heard: list[dict] = []  # public statuses the hashtag timeline and the search find (oldest first)
        self.listen_fault: str | None = None

    async def start(self) -> None:
        await self.server.start()
        self.monkeypatch.setenv(secrets.env_var_name("shop"), "contract-token")

    async def stop(self) -> None:
        await self.server.stop()

    def account(self) -> AccountRow:
        return AccountRow(1, "shop", "mastodon", "mastodon", "@trwnh@127.0.0.1", "trwnh",
                          {"instance": self.server.url, "account_id": OWN["id"], "max_characters": 500,
                           "deadline": self.deadline}, False)

    async def seed(self, count: int) -> int:
        for _ in range(count):
            n = FIRST_ID + len(self.notifications) + 1
            self.notifications.append(notification(str(n), status(str(n + 5), CUSTOMER, f"order {n}?")))
        return count

    async def inject(self, fault: str) -> None:
        self.fault = fault

    def clear(self) -> None:
        self.fault = None

    def position(self, cursor: str | None) -> object:
        state = json.loads(cursor) if cursor else {}
        return state.get("min_id"), state.get("conv")

    # ------------------------------------------------------------------ the fake instance

    def answer(self, request: Request) -> Reply:
        if self.fault == "auth":
            return Reply.json({"error": "The access token is invalid"}, 401)
        if request.path == "/api/v1/accounts/verify_credentials":
            return Reply.json(OWN)
        if request.path == "/api/v2/instance":
            return Reply.json(instance(500))
        if request.path in ("/api/v1/conversations", "/api/v1/notifications/requests"):
            return Reply.json([])
        if request.path.endswith("/context"):
            return Reply.json({"ancestors": [], "descendants": []})
        if request.path == f"/api/v1/statuses/{PARENT_ID}":
            if self.send_fault == "refused":  # the parent lookup fails: the POST never starts
                self.send_fault = None
                return Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
            return Reply.json(status(PARENT_ID, CUSTOMER, "where is my order?"))
        if request.method == "POST" and request.path == "/api/v1/statuses":
            return self.post(request)
        if request.path == f"/api/v1/accounts/{OWN['id']}/statuses":
            return self.own_statuses(request)
        if request.path == "/api/v1/notifications":
            return self.faulty() or self.page(request)
        if request.path.startswith("/api/v1/timelines/tag/") or request.path == "/api/v2/search":
            return self.listened(request)
        return Reply.json({"error": "Record not found"}, 404)

    def post(self, request: Request) -> Reply:
        """POST /api/v1/statuses, honouring Idempotency-Key for an hour of the harness's clock."""
        self.posts += 1
        fault, self.send_fault = self.send_fault, None
        if fault == "lost":
            return Reply(drop=True)
        body = json.loads(request.body or b"{}")
        key = request.headers.get("idempotency-key", "")
        now = self.clock.now()
        remembered = self.keys.get(key)
        if remembered and now - remembered[0] < IDEMPOTENCY_KEY_SECONDS:
            created = remembered[1]
        else:
            n = str(FIRST_ID * 2 + len(self.statuses) + 1)
            created = status(n, OWN, body.get("status", ""), in_reply_to_id=body.get("in_reply_to_id"),
                             visibility=body.get("visibility", "public"), mentions=[],
                             created_at=_iso(now))
            created["content"] = f"<p>{html.escape(body.get('status', ''))}</p>"
            self.statuses.append(created)
            if key:
                self.keys[key] = (now, created)
        if fault == "forgetful":
            self.lookups_fail = True
        answer = Reply.json(created)
        if fault in ("drop", "forgetful"):
            return Reply(drop=True)
        if fault == "timeout":
            answer.delay = self.deadline * 3
        if fault == "slow":  # each byte well inside any read timeout; the whole far past the deadline
            answer.trickle = self.deadline * 3 / 40
        return answer

    def own_statuses(self, request: Request) -> Reply:
        if self.lookups_fail:
            return Reply.json({"error": "bad gateway"}, 502)
        ours = list(reversed(self.statuses))
        if request.param("max_id"):
            ours = [s for s in ours if int(s["id"]) < int(request.param("max_id") or 0)]
        return Reply.json(ours[:int(request.param("limit") or 20)])

    # ------------------------------------------------------------------ the contract's hooks for sends

    def send_request(self, text: str) -> OutboundRequest:
        return OutboundRequest(uuid.uuid4().hex, "reply", text, in_reply_to=PARENT_ID,
                               recipient=Person(CUSTOMER["id"], "@" + CUSTOMER["acct"]), kind=Kind.PUBLIC)

    async def fault_send(self, fault: str) -> None:
        self.send_fault = fault

    async def lookup_authoritative(self) -> None:
        pass  # reading our own statuses back is authoritative on every Mastodon account

    def lookups_back(self) -> None:
        self.lookups_fail = False

    async def delivered(self, request: OutboundRequest) -> list[str]:
        return [s["id"] for s in self.statuses if s["content"].endswith(html.escape(request.text) + "</p>")]

    def faulty(self) -> Reply | None:
        garbage = {"id": "9" * 30, "type": "mention", "status": "<b>not a status</b>"}
        return {
            "rate_limit": Reply.json({"error": "Too many requests"}, 429, **{"Retry-After": "120"}),
            "server_error": Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
            "malformed": Reply(200, b"<html>this is not json", {"Content-Type": "application/json"}),
            "dropped": Reply(drop=True),
            "trickle": Reply(200, json.dumps([]).encode() + b" " * 200, {"Content-Type": "application/json"},
                             trickle=0.05),
            "garbage": Reply.json([{"id": None}, {"foo": 1}, "x", garbage] * 10),
            "huge": Reply.json(self.huge_page()),
            # Numeric, larger than every real id, in an otherwise plausible item: never a cursor.
            "garbage_id": Reply.json([{"id": "99999999999999999999", "type": "mention",
                                       "status": {"id": "99999999999999999999"}}]),
        }.get(self.fault or "")

    def huge_page(self) -> list[dict]:
        """About 10 MB of well-formed mentions from far in the future: only the size cap refuses them."""
        padding = "<p>" + "spam " * 50_000 + "</p>"
        return [notification(str(FIRST_ID * 10 + n), status(str(FIRST_ID * 10 + n), CUSTOMER, content=padding))
                for n in range(40)]

    def page(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 40)
        after = int(request.param("min_id") or 0)
        newer = [n for n in self.notifications if int(n["id"]) > after]
        # Mastodon pages forward from min_id: the oldest `limit` newer ones, newest first.
        chunk = newer[:limit] if request.param("min_id") else newer[-limit:]
        answer = Reply.json(list(reversed(chunk)))
        for mark, poison in self.swaps.items():
            answer.body = answer.body.replace(mark, poison)
        return answer

    # ------------------------------------------------------------------ the contract's hooks for listening

    async def seed_heard(self, count: int) -> int:
        for i in range(count + 1):
            n = FIRST_ID * 3 + len(self.heard) + 1
            if i < count:  # brand talk, by name or by hashtag, that does not mention us
                text = f"my new mug from Juniper & Co {n}" if i % 2 else f"rainy sunday #junipermade {n}"
                self.heard.append(status(str(n), CUSTOMER, text, mentions=[]))
            else:  # and one addressed to us, which the notifications bring instead
                self.heard.append(status(str(n), CUSTOMER, f"Juniper & Co #junipermade {n}"))
        return count

    async def inject_listen(self, fault: str) -> None:
        if fault == "auth":
            self.fault = "auth"
        self.listen_fault = fault

    def listened(self, request: Request) -> Reply:
        """GET /api/v1/timelines/tag/:hashtag and /api/v2/search?type=statuses, paged forward by min_id."""
        if self.listen_fault:
            return self.faulty_listen()
        if request.path == "/api/v2/search":
            q = (request.param("q") or "").strip('"').lower()
            found = [s for s in self.heard if q in html.unescape(s["content"]).lower()]
        else:
            tag = request.path.rsplit("/", 1)[1].lower()
            found = [s for s in self.heard if f"#{tag}" in s["content"].lower()]
        after = int(request.param("min_id") or 0)
        limit = int(request.param("limit") or 20)
        newer = [s for s in found if int(s["id"]) > after]
        chunk = list(reversed(newer[:limit] if request.param("min_id") else newer[-limit:]))
        return Reply.json({"accounts": [], "statuses": chunk, "hashtags": []}
                          if request.path == "/api/v2/search" else chunk)

    def faulty_listen(self) -> Reply:
        fault, self.listen_fault = self.listen_fault, None
        self.fault = fault
        try:
            answer = self.faulty()
        finally:
            self.fault = None
        assert answer is not None
        return answer

    # ------------------------------------------------------------------ the contract's hook for poison

    async def seed_poison(self, poison: str, good: int) -> int:
        """Good mentions with one poisoned status among them, as the server's JSON (and bytes) say it."""
        text, created = "poisoned item: the rest", "2025-11-25T08:00:00.000Z"
        if poison in POISON_DATES:
            created = POISON_DATES[poison]
        elif poison == "surrogate":
            text = "poisoned item \ud800 the rest"  # json.dumps writes the lone surrogate as \ud800
        elif poison in ("invalid_utf8", "c1"):
            self.swaps[b"POISON-BYTES"] = b"\xff\xfe\xc3" if poison == "invalid_utf8" else b"\xc2\x9b2J"
            text = "poisoned item POISON-BYTES the rest"
        elif poison == "osc":
            text = "poisoned item \x1b]0;unterminated title and the rest"
        elif poison == "tags":
            text = "poisoned item \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 the rest"
        elif poison == "huge":
            text = "poisoned item " + "spam " * 240_000 + "the rest"  # 1.2 M characters, well under the page size cap
        half = good // 2
        for n in range(good + 1):
            nid = FIRST_ID + len(self.notifications) + 1
            body, at = (text, created) if n == half else (f"{GOOD} {n}: order {nid}?", "2025-11-25T08:00:00.000Z")
            st = status(str(nid + 5), CUSTOMER, body, created_at=at)
            self.notifications.append(notification(str(nid), st) | {"created_at": at})
        return good


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat().replace("+00:00", "Z")


def make_harness(tmp_path, monkeypatch, request) -> MastodonHarness:
    return MastodonHarness(tmp_path, monkeypatch)
