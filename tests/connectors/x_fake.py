"""A scripted X API v2 on a loopback port, answering with the documented payloads (data/x/), for the X
connector's tests and its contract harness: mentions with since_id, DM events, posts and DMs created,
our own timeline, OAuth tokens that rotate, x-rate-limit-* headers, the reply restriction and credits."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

from agentconsole.domain.clock import Clock
from tests.connectors.contract.fakeserver import HttpServer, Reply, Request

DATA = Path(__file__).parent / "data" / "x"


def fixture(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


BRAND = fixture("users_me.json")["data"]
_MENTIONS = fixture("mentions.json")
DANA = next(u for u in _MENTIONS["includes"]["users"] if u["username"] == "dana_k")
SAM = next(u for u in _MENTIONS["includes"]["users"] if u["username"] == "samortiz")
FIRST_ID = 1_996_100_000_000_000_000
PARENT_ID = _MENTIONS["data"][1]["id"]  # Dana's first mention, the post our replies answer
UNSUMMONED_ID = "1996000000000000999"  # a post that did not @mention us: replies to it are refused


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mention(pid: str, text: str, author: dict = DANA, created_at: str = "2025-11-25T08:30:00.000Z",
            conversation: str | None = None) -> dict:
    post = copy.deepcopy(_MENTIONS["data"][1])
    post.pop("attachments", None)
    post.update(id=pid, text=text, author_id=author["id"], conversation_id=conversation or pid, created_at=created_at,
                edit_history_tweet_ids=[pid])
    return post


def dm_event(eid: str, text: str, sender: dict = DANA, created_at: str = "2025-11-25T08:45:00.000Z") -> dict:
    return {"id": eid, "event_type": "MessageCreate", "text": text, "sender_id": sender["id"],
            "dm_conversation_id": f"{DANA['id']}-{BRAND['id']}" if sender is DANA or sender is BRAND
            else f"{sender['id']}-{BRAND['id']}", "created_at": created_at}


class FakeX:
    """The platform's state and its answers; *fault* spoils the next fetch, *send_fault* the next POST."""

    def __init__(self, clock: Clock, deadline: float = 1.0) -> None:
        self.clock = clock
        self.deadline = deadline
        self.server = HttpServer(self.answer)
        self.users = {u["id"]: u for u in (BRAND, DANA, SAM)}
        self.mentions: list[dict] = []
        self.dms: list[dict] = []
        self.posts: list[dict] = []  # what we created (newest last)
        self.created_dms: list[dict] = []
        self.access = {"access-1"}
        self.refresh = {"refresh-1"}
        self.issued = 1
        self.token_fault: str | None = None
        self.fault: str | None = None
        self.send_fault: str | None = None
        self.lookups_fail = False
        self.credits = True
        self.remaining: dict[str, int] = {}
        self.reset_at = clock.now() + 900
        self.swaps: dict[bytes, bytes] = {}
        self.mention_reads = 0
        self.searchable: list[dict] = []  # public posts recent search finds (oldest first)
        self.searches: list[dict[str, str]] = []  # the query parameters of every search
        self.likes: list[str] = []

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    def add_mentions(self, count: int, text: str = "order {n}?") -> list[dict]:
        added = []
        for _ in range(count):
            n = FIRST_ID + len(self.mentions) + 1
            added.append(mention(str(n), "@JuniperCoShop " + text.format(n=n)))
            self.mentions.append(added[-1])
        return added

    def add_heard(self, count: int, text: str = "love my Juniper & Co mug {n}") -> list[dict]:
        """Brand talk without @us that recent search finds, plus one post that does mention us (which
        the connector must leave to the mentions)."""
        added = []
        for i in range(count + 1):
            n = FIRST_ID + 300_000 + len(self.searchable) + 1
            body = text.format(n=n) if i < count else f"@{BRAND['username']} Juniper & Co {n}"
            post = mention(str(n), body, author=DANA if i % 2 else SAM)
            if i == count:
                post["entities"] = {"mentions": [{"start": 0, "end": 14, "username": BRAND["username"],
                                                  "id": BRAND["id"]}]}
            self.searchable.append(post)
            added.append(post)
        return added[:count]

    def search_page(self, request: Request) -> Reply:
        """GET /2/tweets/search/recent: newest first after since_id, paged by next_token; the query's
        -@username drops the posts that mention that user (the one operator the fake honours)."""
        self.searches.append(dict(request.query))
        query = request.param("query") or ""
        since = int(request.param("since_id") or 0)
        limit = int(request.param("max_results") or 10)
        if not 10 <= limit <= 100:
            return Reply.json({"title": "Invalid Request", "detail": "max_results out of range"}, 400)
        newer = [p for p in reversed(self.searchable) if int(p["id"]) > since
                 and not (f"-@{BRAND['username']}" in query and p["text"].startswith("@" + BRAND["username"]))]
        start = int(request.param("pagination_token") or 0)
        chunk = newer[start:start + limit]
        body: dict = {"meta": {"result_count": len(chunk)}}
        if chunk:
            body["data"] = chunk
            body["includes"] = {"users": [self.users[a] for a in {p["author_id"] for p in chunk} if a in self.users]}
            body["meta"].update(newest_id=chunk[0]["id"], oldest_id=chunk[-1]["id"])
        if start + limit < len(newer):
            body["meta"]["next_token"] = str(start + limit)
        return Reply.json(body)

    def like(self, request: Request) -> Reply:
        tweet = str(json.loads(request.body or b"{}").get("tweet_id") or "")
        if tweet not in self.likes:
            self.likes.append(tweet)
        return Reply.json(fixture("like.json"))

    # ------------------------------------------------------------------ answers

    def limited(self, route: str, reply: Reply) -> Reply:
        left = self.remaining.get(route)
        if left is not None:
            self.remaining[route] = max(0, left - 1)
        for name, value in {"x-rate-limit-limit": "300", "x-rate-limit-remaining": str(left if left is not None else 299),
                            "x-rate-limit-reset": str(int(self.reset_at))}.items():
            reply.headers.setdefault(name, value)  # a scripted answer's own headers win
        return reply

    def answer(self, request: Request) -> Reply:
        if request.path == "/2/oauth2/token":
            return self.token(request)
        auth = request.headers.get("authorization", "")
        if self.fault == "auth" or auth.removeprefix("Bearer ") not in self.access:
            return Reply.json({"title": "Unauthorized", "type": "about:blank", "status": 401,
                               "detail": "Unauthorized"}, 401)
        if not self.credits:
            return Reply.json(fixture("credits_exhausted.json"), 402)
        route = request.path
        if self.remaining.get(route) == 0 and self.clock.now() < self.reset_at:
            return self.limited(route, Reply.json(fixture("rate_limited.json"), 429))
        return self.limited(route, self.route(request))

    def route(self, request: Request) -> Reply:
        path = request.path
        if path == "/2/users/me":
            return Reply.json({"data": BRAND})
        if path == f"/2/users/{BRAND['id']}/mentions":
            return self.faulty() or self.mention_page(request)
        if path == "/2/dm_events":
            return self.dm_page()
        if path == "/2/tweets/search/recent":
            return self.faulty() or self.search_page(request)
        if request.method == "POST" and path == f"/2/users/{BRAND['id']}/likes":
            return self.like(request)
        if path == f"/2/users/{BRAND['id']}/tweets":
            if self.lookups_fail:
                return Reply.json({"title": "Service Unavailable"}, 503)
            return self.own_posts(request)
        if path.startswith("/2/dm_conversations/with/") and path.endswith("/dm_events"):
            return Reply.json({"data": list(reversed(self.created_dms)), "meta": {"result_count": len(self.created_dms)}})
        if request.method == "POST" and path == "/2/tweets":
            return self.create_post(request)
        if request.method == "POST" and path.startswith("/2/dm_conversations/with/"):
            return self.create_dm(request, path.split("/")[4])
        if path.startswith("/2/users/") and path.count("/") == 3:
            user = self.users.get(path.rsplit("/", 1)[1])
            return Reply.json({"data": user}) if user else Reply.json({"title": "Not Found Error"}, 404)
        return Reply.json({"title": "Not Found Error", "type": "about:blank", "status": 404}, 404)

    def token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        fault, self.token_fault = self.token_fault, None
        if fault == "down":
            return Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        if fault == "drop":
            return Reply(drop=True)
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh:
                return Reply.json({"error": "invalid_request", "error_description":
                                   "Value passed for the token was invalid."}, 400)
            self.refresh.discard(form["refresh_token"])  # single-use: X rotates it
        elif form.get("grant_type") != "authorization_code" or form.get("code") != "good-code":
            return Reply.json({"error": "invalid_request"}, 400)
        self.issued += 1
        body = fixture("token.json") | {"access_token": f"access-{self.issued}", "refresh_token": f"refresh-{self.issued}"}
        self.access.add(body["access_token"])
        self.refresh.add(body["refresh_token"])
        return Reply.json(body)

    def mention_page(self, request: Request) -> Reply:
        self.mention_reads += 1
        since = int(request.param("since_id") or 0)
        limit = int(request.param("max_results") or 10)
        newer = [m for m in reversed(self.mentions) if int(m["id"]) > since]  # newest first
        start = int(request.param("pagination_token") or 0)
        chunk = newer[start:start + limit]
        authors = {m["author_id"] for m in chunk}
        body: dict = {"meta": {"result_count": len(chunk)}}
        if chunk:
            body["data"] = chunk
            body["includes"] = {"users": [self.users[a] for a in authors if a in self.users]}
            body["meta"].update(newest_id=chunk[0]["id"], oldest_id=chunk[-1]["id"])
        if start + limit < len(newer):
            body["meta"]["next_token"] = str(start + limit)
        reply = Reply.json(body)
        for mark, poison in self.swaps.items():
            reply.body = reply.body.replace(mark, poison)
        return reply

    def dm_page(self) -> Reply:
        events = list(reversed(self.dms))[:100]
        body: dict = {"meta": {"result_count": len(events)}}
        if events:
            body["data"] = events
            body["includes"] = {"users": [self.users[i] for i in {e.get("sender_id") for e in events} if i in self.users]}
        return Reply.json(body)

    def own_posts(self, request: Request) -> Reply:
        start = request.param("start_time") or ""
        ours = [p for p in reversed(self.posts) if p["created_at"] >= start]
        return Reply.json({"data": ours, "meta": {"result_count": len(ours)}} if ours else {"meta": {"result_count": 0}})

    def create_post(self, request: Request) -> Reply:
        fault, self.send_fault = self.send_fault, None
        if fault == "lost":
            return Reply(drop=True)
        body = json.loads(request.body or b"{}")
        parent = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent == UNSUMMONED_ID:
            return Reply.json(fixture("reply_forbidden.json"), 403)
        pid = str(FIRST_ID * 2 // 2 + 500_000 + len(self.posts) + 1)
        post = {"id": pid, "text": body.get("text", ""), "author_id": BRAND["id"], "created_at": iso(self.clock.now()),
                "conversation_id": parent or pid}
        if parent:
            post["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
        self.posts.append(post)
        answer = Reply.json({"data": {"id": pid, "text": post["text"], "edit_history_tweet_ids": [pid]}}, 201)
        if fault == "drop":
            return Reply(drop=True)
        if fault == "timeout":
            answer.delay = self.deadline * 3
        if fault == "slow":
            answer.trickle = self.deadline * 3 / 40
        return answer

    def create_dm(self, request: Request, participant: str) -> Reply:
        body = json.loads(request.body or b"{}")
        if participant not in self.users or not self.users[participant].get("receives_your_dm", True):
            return Reply.json({"title": "Forbidden", "type": "about:blank", "status": 403,
                               "detail": "You cannot send messages to this user."}, 403)
        eid = str(FIRST_ID + 700_000 + len(self.created_dms) + 1)
        conv = f"{min(participant, BRAND['id'], key=lambda v: (len(v), v))}-{max(participant, BRAND['id'], key=lambda v: (len(v), v))}"
        self.created_dms.append({"id": eid, "event_type": "MessageCreate", "text": body.get("text", ""),
                                 "sender_id": BRAND["id"], "dm_conversation_id": conv,
                                 "created_at": iso(self.clock.now())})
        return Reply.json({"data": {"dm_conversation_id": conv, "dm_event_id": eid}}, 201)

    def faulty(self) -> Reply | None:
        garbage = {"id": "9" * 30, "text": "<b>not a post</b>"}
        return {
            "rate_limit": Reply.json(fixture("rate_limited.json"), 429, **{
                "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(self.clock.now() + 120))}),
            "server_error": Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
            "malformed": Reply(200, b"<html>this is not json", {"Content-Type": "application/json"}),
            "dropped": Reply(drop=True),
            "trickle": Reply(200, json.dumps({"meta": {"result_count": 0}}).encode() + b" " * 200,
                             {"Content-Type": "application/json"}, trickle=0.05),
            "garbage": Reply.json({"data": [{"id": None}, {"foo": 1}, "x", garbage] * 10}),
            "huge": Reply.json({"data": [mention(str(FIRST_ID * 2 + n), "spam " * 50_000) for n in range(40)]}),
            "garbage_id": Reply.json({"data": [{"id": "99999999999999999999", "text": "x", "author_id": DANA["id"]}]}),
        }.get(self.fault or "")
