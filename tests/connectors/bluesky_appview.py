"""A loopback front for the real local PDS: it forwards every call to the PDS, answers listNotifications itself
(STANDING IN for the AppView, which the PDS-only network lacks) from notifications built in the lexicon's
shape (app.bsky.notification.listNotifications#notification) around real posts, and injects faults."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from tests.connectors.bluesky_pds import PDS_URL, User
from tests.connectors.contract.fakeserver import HttpServer, Reply, Request

LIST = "/xrpc/app.bsky.notification.listNotifications"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
KEEP_HEADERS = ("content-type", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy",
                "retry-after")


def notification(post: dict, author: User | dict, reason: str, indexed_at: str) -> dict:
    """One notification as the lexicon describes it, for *post* (a record view: uri, cid, value)."""
    who = author if isinstance(author, dict) else {"did": author.did, "handle": author.handle,
                                                   "displayName": author.handle.split(".")[0]}
    return {"uri": post["uri"], "cid": post["cid"], "author": who, "reason": reason, "record": post["value"],
            "isRead": False, "indexedAt": indexed_at, "labels": []}


def fixture_post(did: str, text: str, created_at: str) -> dict:
    """A post that exists only here (for payloads no real PDS would take), with a well-formed URI and CID."""
    rkey = "3" + uuid.uuid4().hex[:12]
    return {"uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": "bafyrei" + uuid.uuid4().hex + "aa",
            "value": {"$type": "app.bsky.feed.post", "text": text, "createdAt": created_at}}


class AppViewFront:
    def __init__(self, pds: str = PDS_URL) -> None:
        self.pds = pds
        self.server = HttpServer(self.answer)
        self.notifications: list[dict] = []  # oldest first
        self.fault: str | None = None  # the next listNotifications answers with it (until cleared)
        self.fault_reply: Reply | None = None
        self.send_fault: str | None = None
        self.lookups_fail = False
        self.swaps: dict[bytes, bytes] = {}  # byte-level poison put into the notification pages
        self.searchable: list[dict] = []  # post views searchPosts finds (oldest first), around real posts
        self.searches: list[list[tuple[str, str]]] = []
        self.deadline = 1.0
        self._last = 0.0
        self._http = httpx.Client(timeout=30)

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> AppViewFront:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()
        self._http.close()

    def indexed_at(self) -> str:
        """Now, strictly later than the last one (the AppView's indexedAt orders the list)."""
        self._last = max(time.time(), self._last + 0.001)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self._last)) + f".{int(self._last * 1000) % 1000:03d}Z"

    def notify(self, post: dict, author: User | dict, reason: str = "mention", indexed_at: str | None = None) -> dict:
        note = notification(post, author, reason, indexed_at or self.indexed_at())
        self.notifications.append(note)
        return note

    def index(self, post: dict, author: User | dict, indexed_at: str | None = None) -> dict:
        """Make *post* (a record view) findable by searchPosts, as the lexicon's postView."""
        who = author if isinstance(author, dict) else {"did": author.did, "handle": author.handle,
                                                       "displayName": author.handle.split(".")[0]}
        view = {"uri": post["uri"], "cid": post["cid"], "author": who, "record": post["value"], "replyCount": 0,
                "repostCount": 0, "likeCount": 0, "quoteCount": 0, "indexedAt": indexed_at or self.indexed_at(),
                "labels": []}
        self.searchable.append(view)
        return view

    def search(self, request: Request) -> Reply:
        """app.bsky.feed.searchPosts (sort=latest): posts whose text holds q, at or after since, newest first."""
        self.searches.append(list(request.query))
        q = (request.param("q") or "").strip('"').lower()
        since = request.param("since") or ""
        limit = int(request.param("limit") or 25)
        if not 1 <= limit <= 100:
            return Reply.json({"error": "InvalidRequest", "message": "limit out of range"}, 400)
        found = [v for v in reversed(self.searchable) if q in v["record"]["text"].lower() and v["indexedAt"] >= since]
        start = int(request.param("cursor") or 0)
        body: dict = {"posts": found[start:start + limit], "hitsTotal": len(found)}
        if start + limit < len(found):
            body["cursor"] = str(start + limit)
        return Reply.json(body)

    # ------------------------------------------------------------------ answering

    def answer(self, request: Request) -> Reply:
        if request.path == LIST:
            if self.fault_reply is not None:
                return self.fault_reply
            return self.page(request)
        if request.path == SEARCH:
            return self.fault_reply if self.fault_reply is not None else self.search(request)
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.repo.getRecord" and self.send_fault == "refused":
            self.send_fault = None  # the parent lookup fails: the write never starts
            return Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        if nsid == "com.atproto.repo.listRecords" and self.lookups_fail:
            return Reply.json({"error": "UpstreamFailure", "message": "bad gateway"}, 502)
        if nsid in ("com.atproto.repo.createRecord", "chat.bsky.convo.sendMessage") and self.send_fault:
            return self.faulty_write(request)
        return self.forward(request)

    def forward(self, request: Request) -> Reply:
        headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type", "atproto-proxy")}
        answer = self._http.request(request.method, self.pds + request.path, params=request.query,
                                    content=request.body or None, headers=headers)
        kept = {k: v for k, v in answer.headers.items() if k.lower() in KEEP_HEADERS}
        return Reply(answer.status_code, answer.content, kept)

    def faulty_write(self, request: Request) -> Reply:
        fault, self.send_fault = self.send_fault, None
        if fault == "lost":
            return Reply(drop=True)  # the body arrived here and went no further
        answer = self.forward(request)
        if fault == "forgetful":
            self.lookups_fail = True
        if fault in ("drop", "forgetful"):
            return Reply(drop=True)
        if fault == "timeout":
            answer.delay = self.deadline * 3
        if fault == "slow":
            answer.trickle = self.deadline * 3 / max(1, len(answer.body))  # each byte in time, the whole late
        return answer

    def page(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 50)
        reasons = {v for k, v in request.query if k == "reasons"}
        newest_first = [n for n in reversed(self.notifications) if not reasons or n["reason"] in reasons]
        start = int(request.param("cursor") or 0)
        chunk = newest_first[start:start + limit]
        body: dict = {"notifications": chunk, "seenAt": self.indexed_at()}
        if start + limit < len(newest_first):
            body["cursor"] = str(start + limit)
        answer = Reply.json(body)
        for mark, poison in self.swaps.items():
            answer.body = answer.body.replace(mark, poison)
        return answer

    def inject(self, fault: str, now: float) -> None:
        garbage = {"uri": "9" * 30, "reason": "mention", "record": "<b>not a post</b>"}
        self.fault = fault
        self.fault_reply = {
            "rate_limit": Reply.json({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429,
                                     **{"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                                        "RateLimit-Reset": str(int(now + 120)), "RateLimit-Policy": "3000;w=300"}),
            "server_error": Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
            "malformed": Reply(200, b"<html>this is not json", {"Content-Type": "application/json"}),
            "dropped": Reply(drop=True),
            "trickle": Reply(200, json.dumps({"notifications": []}).encode() + b" " * 200,
                             {"Content-Type": "application/json"}, trickle=0.05),
            "garbage": Reply.json({"notifications": [{"uri": None}, {"foo": 1}, "x", garbage] * 10}),
            "huge": Reply.json({"notifications": self.huge_page()}),
            # Plausible but for its URI, and indexed far in the future: it must never become the mark.
            "garbage_id": Reply.json({"notifications": [{
                "uri": "at://" + "9" * 20, "cid": "bafyreinotacid", "reason": "mention",
                "author": {"did": "did:plc:" + "9" * 24, "handle": "x.test"}, "record": {"text": "x"},
                "indexedAt": "2999-01-01T00:00:00.000Z"}]}),
        }.get(fault)

    def clear(self) -> None:
        self.fault, self.fault_reply = None, None

    def huge_page(self) -> list[dict]:
        """About 10 MB of well-formed mentions: only the size cap refuses them."""
        author = {"did": "did:plc:" + "h" * 24, "handle": "huge.test"}
        return [notification(fixture_post(author["did"], "spam " * 50_000, "2025-11-25T08:00:00.000Z"), author,
                             "mention", "2999-01-01T00:00:00.000Z") for _ in range(40)]
