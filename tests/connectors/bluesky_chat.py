"""A STAND-IN for Bluesky's closed-source chat service (api.bsky.chat), written for these tests.

It follows the chat lexicons (chat.bsky.convo.*: getConvoForMembers, getConvoAvailability, getConvo,
listConvos, sendMessage, getMessages, getLog, acceptConvo) closely enough for the connector's DM path to be
tested through the REAL local PDS: the PDS resolves this service's did:web (over http for localhost), signs
a service-auth token for every proxied call, and refuses plain app passwords itself. Who may DM whom is
read from the members' real repos on that PDS (their chat.bsky.actor.declaration and follow records).
Everything else answers 501; nothing here is part of the product.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import regex

from tests.connectors.bluesky_pds import PDS_URL

DM_GRAPHEMES, DM_BYTES = 1000, 10_000


@dataclass
class Convo:
    id: str
    members: list[str]
    kind: str = "directConvo"
    status: dict[str, str] = field(default_factory=dict)  # member DID -> "request" | "accepted"
    messages: list[dict] = field(default_factory=list)  # oldest first


class ChatStandIn:
    """The stand-in service on 127.0.0.1 (a free port); its DID is did:web:localhost%3A<port>."""

    def __init__(self, pds: str = PDS_URL) -> None:
        self.pds = pds
        self.convos: dict[str, Convo] = {}
        self.logs: dict[str, list[tuple[str, dict]]] = {}  # member DID -> [(rev, log entry)]
        self.calls: list[tuple[str, str, dict]] = []  # (nsid, caller DID, the service token's claims)
        self.fail_next: dict[str, tuple[int, dict]] = {}  # nsid -> the error answer its next call gets
        self._rev = 0
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._http = httpx.Client(timeout=10)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def did(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    def start(self) -> ChatStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    # ------------------------------------------------------------------ what the tests arrange

    def group(self, creator: str, members: list[str]) -> Convo:
        """A group convo (chat.bsky.group.* is not stood in; tests make one directly)."""
        with self._lock:
            convo = Convo(f"group{len(self.convos) + 1}", [creator, *members], kind="groupConvo",
                          status={m: "accepted" for m in [creator, *members]})
            self.convos[convo.id] = convo
            self._log_all(convo, {"$type": "chat.bsky.convo.defs#logBeginConvo", "convoId": convo.id})
            return convo

    def post(self, convo: Convo, sender: str, text: str) -> dict:
        """A message arriving from *sender* (for senders without their own session, e.g. in a group)."""
        with self._lock:
            return self._add_message(convo, sender, text, [])

    # ------------------------------------------------------------------ the lexicon methods

    def call(self, nsid: str, caller: str, params: dict[str, list[str]], body: dict) -> tuple[int, Any]:
        with self._lock:
            if nsid in self.fail_next:
                return self.fail_next.pop(nsid)
            method = _METHODS.get(nsid)
            if method is None:
                return 501, {"error": "MethodNotImplemented", "message": f"the stand-in has no {nsid}"}
            return method(self, caller, params, body)

    def _availability(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        others = [m for m in params.get("members", []) if m != caller]
        convo = self._find(caller, others)
        can = all(self._may_message(caller, other) for other in others) or (
            convo is not None and all(convo.status.get(o) == "accepted" for o in others))
        answer: dict[str, Any] = {"canChat": can}
        if convo is not None:
            answer["convo"] = self._view(convo, caller)
        return 200, answer

    def _for_members(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        others = [m for m in params.get("members", []) if m != caller]
        if len(others) != 1:
            return 400, {"error": "InvalidRequest", "message": "one other member expected (groups: chat.bsky.group)"}
        convo = self._find(caller, others)
        if convo is None:
            allowed = self._allow_incoming(others[0])
            if not self._may_message(caller, others[0]):
                name = "MessagesDisabled" if allowed == "none" else "NotFollowedBySender"
                return 400, {"error": name, "message": f"recipient accepts messages from: {allowed}"}
            convo = Convo(f"convo{len(self.convos) + 1}", [caller, others[0]],
                          status={caller: "accepted", others[0]: "request"})
            if self._follows(others[0], caller):
                convo.status[others[0]] = "accepted"
            self.convos[convo.id] = convo
            self._log_all(convo, {"$type": "chat.bsky.convo.defs#logBeginConvo", "convoId": convo.id})
        return 200, {"convo": self._view(convo, caller)}

    def _get_convo(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        convo = self.convos.get(_one(params, "convoId"))
        if convo is None or caller not in convo.members:
            return 400, {"error": "InvalidConvo", "message": "no such convo"}
        return 200, {"convo": self._view(convo, caller)}

    def _list(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        mine = [self._view(c, caller) for c in self.convos.values() if caller in c.members]
        return 200, {"convos": mine[: int(_one(params, "limit") or 50)]}

    def _send(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        convo = self.convos.get(str(body.get("convoId")))
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        text = message.get("text")
        if convo is None or caller not in convo.members:
            return 400, {"error": "InvalidConvo", "message": "no such convo"}
        if not isinstance(text, str) or not text:
            return 400, {"error": "InvalidRequest", "message": "message.text is required"}
        graphemes, size = len(regex.findall(r"\X", text)), len(text.encode())
        if graphemes > DM_GRAPHEMES or size > DM_BYTES:
            return 400, {"error": "InvalidRequest", "message": f"text too long ({graphemes} graphemes, {size} bytes)"}
        return 200, self._add_message(convo, caller, text, message.get("facets") or [])

    def _accept(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        convo = self.convos.get(str(body.get("convoId")))
        if convo is None or caller not in convo.members:
            return 400, {"error": "InvalidConvo", "message": "no such convo"}
        convo.status[caller] = "accepted"
        rev = self._log(caller, {"$type": "chat.bsky.convo.defs#logAcceptConvo", "convoId": convo.id})
        return 200, {"rev": rev}

    def _messages(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        convo = self.convos.get(_one(params, "convoId"))
        if convo is None or caller not in convo.members:
            return 400, {"error": "InvalidConvo", "message": "no such convo"}
        newest_first = list(reversed(convo.messages))
        start = int(_one(params, "cursor") or 0)
        limit = int(_one(params, "limit") or 50)
        chunk = newest_first[start:start + limit]
        answer: dict[str, Any] = {"messages": chunk}
        if start + limit < len(newest_first):
            answer["cursor"] = str(start + limit)
        return 200, answer

    def _get_log(self, caller: str, params: dict, body: dict) -> tuple[int, Any]:
        after = _one(params, "cursor") or ""
        entries = [(rev, e) for rev, e in self.logs.get(caller, []) if rev > after]
        answer: dict[str, Any] = {"logs": [e for _, e in entries]}
        if entries:
            answer["cursor"] = entries[-1][0]
        elif after:
            answer["cursor"] = after
        return 200, answer

    # ------------------------------------------------------------------ state

    def _add_message(self, convo: Convo, sender: str, text: str, facets: list) -> dict:
        self._rev += 1
        view = {"$type": "chat.bsky.convo.defs#messageView", "id": f"msg{self._rev}", "rev": _rev(self._rev),
                "text": text, "sender": {"did": sender}, "sentAt": _now_iso()}
        if facets:
            view["facets"] = facets
        convo.messages.append(view)
        self._log_all(convo, {"$type": "chat.bsky.convo.defs#logCreateMessage", "convoId": convo.id,
                              "message": view})
        return view

    def _log_all(self, convo: Convo, entry: dict) -> None:
        for member in convo.members:
            self._log(member, entry)

    def _log(self, member: str, entry: dict) -> str:
        self._rev += 1
        rev = _rev(self._rev)
        self.logs.setdefault(member, []).append((rev, {**entry, "rev": rev}))
        return rev

    def _find(self, caller: str, others: list[str]) -> Convo | None:
        wanted = {caller, *others}
        return next((c for c in self.convos.values() if c.kind == "directConvo" and set(c.members) == wanted), None)

    def _view(self, convo: Convo, viewer: str) -> dict:
        view: dict[str, Any] = {"id": convo.id, "rev": _rev(self._rev), "kind": convo.kind, "muted": False,
                                "unreadCount": 0, "status": convo.status.get(viewer, "accepted"),
                                "members": [{"did": m, "handle": self._handle(m)} for m in convo.members]}
        if convo.messages:
            view["lastMessage"] = convo.messages[-1]
        return view

    # ------------------------------------------------------------------ the members' real repos

    def _may_message(self, sender: str, recipient: str) -> bool:
        allowed = self._allow_incoming(recipient)
        return allowed == "all" or (allowed == "following" and self._follows(recipient, sender))

    def _allow_incoming(self, did: str) -> str:
        answer = self._http.get(f"{self.pds}/xrpc/com.atproto.repo.getRecord",
                                params={"repo": did, "collection": "chat.bsky.actor.declaration", "rkey": "self"})
        if answer.status_code != 200:
            return "following"  # Bluesky's default for an account without a declaration
        return str(answer.json()["value"].get("allowIncoming") or "following")

    def _follows(self, who: str, whom: str) -> bool:
        answer = self._http.get(f"{self.pds}/xrpc/com.atproto.repo.listRecords",
                                params={"repo": who, "collection": "app.bsky.graph.follow", "limit": "100"})
        return answer.status_code == 200 and any(r["value"].get("subject") == whom for r in answer.json()["records"])

    def _handle(self, did: str) -> str:
        answer = self._http.get(f"{self.pds}/xrpc/com.atproto.repo.describeRepo", params={"repo": did})
        return str(answer.json().get("handle")) if answer.status_code == 200 else "handle.invalid"


_METHODS = {
    "chat.bsky.convo.getConvoAvailability": ChatStandIn._availability,
    "chat.bsky.convo.getConvoForMembers": ChatStandIn._for_members,
    "chat.bsky.convo.getConvo": ChatStandIn._get_convo,
    "chat.bsky.convo.listConvos": ChatStandIn._list,
    "chat.bsky.convo.sendMessage": ChatStandIn._send,
    "chat.bsky.convo.acceptConvo": ChatStandIn._accept,
    "chat.bsky.convo.getMessages": ChatStandIn._messages,
    "chat.bsky.convo.getLog": ChatStandIn._get_log,
}


def _one(params: dict[str, list[str]], name: str) -> str:
    return (params.get(name) or [""])[0]


def _rev(n: int) -> str:
    return f"{n:016d}"  # revs compare as strings, in order


def _now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def claims(authorization: str) -> dict:
    """The service token's claims (not verified: the stand-in trusts the PDS it sits behind)."""
    token = authorization.removeprefix("Bearer ").strip()
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def _handler(service: ChatStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, body: dict) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/.well-known/did.json":
                return self._answer(200, {
                    "@context": ["https://www.w3.org/ns/did/v1"], "id": service.did,
                    "service": [{"id": "#bsky_chat", "type": "BskyChatService",
                                 "serviceEndpoint": f"http://localhost:{service.port}"}]})
            if not parts.path.startswith("/xrpc/"):
                return self._answer(404, {"error": "NotFound"})
            nsid = parts.path[len("/xrpc/"):]
            token = claims(self.headers.get("Authorization", ""))
            if token.get("aud") != service.did or token.get("lxm") != nsid or not token.get("iss"):
                return self._answer(401, {"error": "AuthenticationRequired", "message": "bad service token"})
            caller = str(token["iss"]).split("#")[0]
            service.calls.append((nsid, caller, token))
            status, answer = service.call(nsid, caller, parse_qs(parts.query), body)
            self._answer(status, answer)

        def do_GET(self) -> None:
            self._serve({})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            self._serve(body if isinstance(body, dict) else {})

    return Handler


@pytest.fixture(scope="session")
def chat_service():
    """The chat stand-in for the whole test session (a new port, hence a new did:web, per session)."""
    service = ChatStandIn().start()
    yield service
    service.stop()
