"""A local Mastodon-like HTTP server of the tests' own: it honours Idempotency-Key for a configurable time,
and can create a status and then drop the connection, hold the answer, trickle it, or answer 500."""

from __future__ import annotations

import collections
import html
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OWN = {"id": "1", "username": "shop", "acct": "shop", "display_name": "Shop"}
CUSTOMER = {"id": "2", "username": "dana", "acct": "dana", "display_name": "Dana"}
PARENT_ID = "500"

# What the server does with one POST /api/v1/statuses (one mode per POST, then "ok"):
#   ok        create the status (or find it by its key) and answer 200
#   drop      create it, then close the connection without an answer
#   lost      close the connection without creating anything
#   hold      create it, then answer nothing until the client goes away (the test kills the client)
#   trickle   create it, then send the answer one byte every `trickle_seconds`
#   error     create it, then answer 500
MODES = ("ok", "drop", "lost", "hold", "trickle", "error")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class FakeMastodon:
    key_window: float = 3600.0  # how long an Idempotency-Key is remembered
    trickle_seconds: float = 0.5
    fail_lookups_every: int = 0  # every n-th read of our statuses answers 502 (0: never)
    modes: collections.deque = field(default_factory=collections.deque)
    statuses: list[dict] = field(default_factory=list)  # newest last
    keys: dict[str, tuple[float, dict]] = field(default_factory=dict)
    posts: int = 0  # POSTs received
    lookups: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeMastodon:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                fake.get(self)

            def do_POST(self) -> None:  # noqa: N802
                fake.post(self)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, name="fake-mastodon", daemon=True).start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def next_mode(self, *modes: str) -> None:
        assert all(m in MODES for m in modes)
        self.modes.extend(modes)

    def created_for(self, text: str) -> int:
        """How many statuses carry this text (a reply posted twice shows up here)."""
        return sum(s["_text"].endswith(text) for s in self.statuses)

    # ------------------------------------------------------------ handlers

    def get(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/api/v1/accounts/verify_credentials":
            return _answer(h, 200, OWN)
        if url.path == "/api/v2/instance":
            return _answer(h, 200, {"domain": "127.0.0.1", "configuration": {"statuses": {"max_characters": 500}}})
        if url.path == f"/api/v1/statuses/{PARENT_ID}":
            return _answer(h, 200, {"id": PARENT_ID, "account": CUSTOMER, "visibility": "public",
                                    "content": "<p>where is my order?</p>", "created_at": _iso(0),
                                    "mentions": [OWN], "in_reply_to_id": None})
        if url.path == f"/api/v1/accounts/{OWN['id']}/statuses":
            with self.lock:
                self.lookups += 1
                failing = self.fail_lookups_every and self.lookups % self.fail_lookups_every == 0
                ours = [_public(s) for s in reversed(self.statuses)]
            if failing:
                return _answer(h, 502, {"error": "bad gateway"})
            if "max_id" in query:
                ours = [s for s in ours if int(s["id"]) < int(query["max_id"])]
            return _answer(h, 200, ours[:int(query.get("limit", 20))])
        return _answer(h, 200, [])  # notifications, conversations ...: nothing new

    def post(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)) or b"{}")
        key = h.headers.get("Idempotency-Key") or ""
        with self.lock:
            self.posts += 1
            mode = self.modes.popleft() if self.modes else "ok"
            if mode == "lost":
                return _drop(h)
            now = time.time()
            remembered = self.keys.get(key)
            if remembered and now - remembered[0] < self.key_window:
                status = remembered[1]
            else:
                status = {"id": str(1000 + len(self.statuses)), "created_at": _iso(now), "account": OWN,
                          "content": f"<p>{html.escape(body.get('status', ''))}</p>", "mentions": [],
                          "in_reply_to_id": body.get("in_reply_to_id"),
                          "visibility": body.get("visibility", "public"), "_text": body.get("status", "")}
                self.statuses.append(status)
                if key:
                    self.keys[key] = (now, status)
        if mode == "drop":
            return _drop(h)
        if mode == "error":
            return _answer(h, 500, {"error": "internal server error"})
        if mode == "hold":
            self.holding.set()
            h.rfile.read()  # until the client goes away
            return _drop(h)
        payload = json.dumps(_public(status)).encode()
        if mode == "trickle":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            try:
                for i in range(len(payload)):
                    h.wfile.write(payload[i:i + 1])
                    h.wfile.flush()
                    time.sleep(self.trickle_seconds)
            except OSError:
                pass
            return None
        return _answer(h, 200, _public(status))


def _public(status: dict) -> dict:
    return {k: v for k, v in status.items() if not k.startswith("_")}


def _answer(h: BaseHTTPRequestHandler, code: int, data) -> None:
    payload = json.dumps(data).encode()
    try:
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
    except OSError:
        pass


def _drop(h: BaseHTTPRequestHandler) -> None:
    h.close_connection = True
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

