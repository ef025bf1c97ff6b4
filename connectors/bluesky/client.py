"""XRPC over the shared HTTP layer: the app-password session (cached, refreshed), the PDS taken from the
DID document, RateLimit-* bookkeeping, and the platform's error names mapped to the typed errors."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.domain.sanitize import one_line
from connectors import shape
from connectors.http import DEADLINE, MAX_BYTES, Answer, Http, MalformedResponse, retry_after

log = logging.getLogger(__name__)

USER_AGENT = "agentconsole (+https://github.com/agentconsole)"
DEFAULT_RETRY = 60.0
REFRESH_MARGIN = 60.0  # refresh an access token this many seconds before it runs out
WRITE_POINTS = 3  # what one createRecord costs of the 5,000 points an hour budget
DM_INSTRUCTION = ("this app password cannot read or send DMs: in Bluesky, Settings > Privacy and security > "
                  "App passwords, create a new one with 'Allow access to your direct messages' ticked, then "
                  "run `agentconsole account add bluesky` again with it")
WRITES = ("com.atproto.repo.createRecord", "com.atproto.repo.putRecord", "com.atproto.repo.deleteRecord",
          "com.atproto.repo.applyWrites")
SESSION = shape.Obj({"accessJwt": shape.Str(20_000), "refreshJwt": shape.Str(20_000), "did": shape.Str(2000)},
                    {"handle": shape.Str(300), "didDoc": shape.Anything()})


class ChatNotAllowed(AuthError):
    """The app password was created without access to direct messages ("Bad token method")."""


@dataclass
class Session:
    did: str
    handle: str
    access: str
    refresh: str
    pds: str
    renew_at: float | None = None  # by our clock: the token's lifetime counted from when we got it


# Sessions live as long as the process: createSession is limited to 30 per 5 minutes (300 a day), and
# every connector built for one account (account test, the engine after a reload) shares one.
_SESSIONS: dict[tuple[str, str, str], Session] = {}
DEFAULT_PLC = "https://plc.directory"
DID_DOC = shape.Obj({"id": shape.Str(2000)}, {"service": shape.ListOf(shape.Anything(), 100)})


def forget_sessions() -> None:
    _SESSIONS.clear()


def normalise_service(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) address: {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def pds_from_did_doc(doc: Any) -> str | None:
    """The #atproto_pds endpoint of a DID document; plain http only for a loopback host."""
    services = doc.get("service") if isinstance(doc, dict) else None
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, dict) or not str(service.get("id", "")).endswith("#atproto_pds"):
            continue
        endpoint = service.get("serviceEndpoint")
        if not isinstance(endpoint, str):
            return None
        try:
            url = normalise_service(endpoint)
        except ValueError:
            return None
        host = urlsplit(url).hostname or ""
        if url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
            log.warning("ignoring a DID document's plain-http PDS %s", one_line(url, 120))
            return None
        return url
    return None


def token_lifetime(jwt: str) -> float | None:
    """Seconds from a JWT's iat to its exp, read without verifying (the server verifies; we only plan a
    refresh, and by the lifetime rather than exp so a local clock that is off cannot cause a storm)."""
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - float(claims["iat"])
    except (IndexError, ValueError, KeyError, TypeError, AttributeError):
        return None


def error_name(answer: Answer) -> tuple[str, str]:
    """The XRPC error body's (error, message), empty when the body is not one."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return "", one_line(answer.text, 160)
    if not isinstance(body, dict):
        return "", ""
    return one_line(str(body.get("error") or ""), 80), one_line(str(body.get("message") or ""), 200)


class RateLimiter:
    """The RateLimit-* headers of the last answer, per budget (one per XRPC method)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.remaining: dict[str, int] = {}
        self.reset_at: dict[str, float] = {}

    def update(self, budget: str, headers: httpx.Headers) -> None:
        remaining, reset = headers.get("RateLimit-Remaining"), headers.get("RateLimit-Reset")
        if remaining is None:
            return
        try:
            self.remaining[budget] = int(float(remaining))
            if reset is not None:
                self.reset_at[budget] = float(reset)
        except ValueError:
            return

    def wait_for(self, budget: str, headers: httpx.Headers | None = None) -> float:
        now = self.clock.now()
        if headers is not None:
            try:
                return max(1.0, float(headers["RateLimit-Reset"]) - now)
            except (KeyError, ValueError):
                if headers.get("Retry-After"):
                    return retry_after(headers, now, DEFAULT_RETRY)
        if budget in self.reset_at:
            return max(1.0, self.reset_at[budget] - now)
        return DEFAULT_RETRY

    def before(self, budget: str, needed: int) -> None:
        """Raise RateLimited when the budget has fewer than *needed* left until its reset."""
        left = self.remaining.get(budget)
        if left is None or left >= needed:
            return
        if self.reset_at.get(budget, 0.0) <= self.clock.now():
            self.remaining.pop(budget, None)  # the window has rolled over
            return
        raise RateLimited(f"Bluesky {budget} budget nearly used up ({left} left)",
                          retry_after=self.wait_for(budget))


class Xrpc:
    """One account's calls: signs in once, refreshes before the access token runs out (and again when
    the server says it expired), and maps every answer to the typed errors."""

    def __init__(self, service: str, identifier: str, password: str, clock: Clock, *,
                 client: httpx.AsyncClient | None = None, resolve_pds: bool = True, chat_service: str = "",
                 plc: str = DEFAULT_PLC, deadline: float = DEADLINE, max_bytes: int = MAX_BYTES) -> None:
        self.service = normalise_service(service)
        self.identifier = identifier.strip().lstrip("@")
        # Behind a pinned server (a proxy in front of the PDS) the session belongs to the account, not to
        # the proxy's address, so a new address does not spend one of the 30 sign-ins per 5 minutes.
        where = self.service if resolve_pds else ""
        self._key = (where, self.identifier.lower(), hashlib.sha256(password.encode()).hexdigest())
        self.plc = normalise_service(plc)
        self._password = password
        self.clock = clock
        self.resolve_pds = resolve_pds
        self.chat_proxy = f"{chat_service}#bsky_chat" if chat_service else ""
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0),
                                                   headers={"User-Agent": USER_AGENT})
        self._owns_client = client is None
        self.http = Http(self._client, "Bluesky", deadline=deadline, max_bytes=max_bytes)
        self.limiter = RateLimiter(clock)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------ the session

    @property
    def session(self) -> Session | None:
        return _SESSIONS.get(self._key)

    async def signed_in(self) -> Session:
        session = self.session
        if session is None:
            session = await self._create_session()
        elif session.renew_at is not None and session.renew_at <= self.clock.now():
            session = await self._refresh_session(session)
        return session

    async def _create_session(self) -> Session:
        self.limiter.before("com.atproto.server.createSession", 1)
        answer = await self._raw("POST", self.service, "com.atproto.server.createSession",
                                 json={"identifier": self.identifier, "password": self._password})
        if answer.status in (400, 401):
            name, message = error_name(answer)
            raise AuthError(f"Bluesky refused the sign-in as {one_line(self.identifier, 80)} "
                            f"({name or answer.status}: {message}); check the handle and the app password")
        return await self._keep(self._checked(answer, "com.atproto.server.createSession",
                                                 "com.atproto.server.createSession"))

    async def _refresh_session(self, session: Session) -> Session:
        answer = await self._raw("POST", session.pds if self.resolve_pds else self.service,
                                 "com.atproto.server.refreshSession",
                                 headers={"Authorization": f"Bearer {session.refresh}"})
        if answer.status in (400, 401):
            _SESSIONS.pop(self._key, None)  # the refresh token is spent or revoked: sign in afresh
            return await self._create_session()
        return await self._keep(self._checked(answer, "com.atproto.server.refreshSession",
                                                 "com.atproto.server.refreshSession"))

    async def _keep(self, body: Any) -> Session:
        try:
            shape.check(body, SESSION)
        except shape.ShapeError as exc:
            raise MalformedResponse(f"Bluesky sent an unexpected session: {exc}") from exc
        pds = self.service
        if self.resolve_pds:
            doc = body.get("didDoc") or await self.did_document(str(body["did"]))
            pds = pds_from_did_doc(doc) or self.service
        lifetime = token_lifetime(body["accessJwt"])
        renew_at = self.clock.now() + max(0.0, lifetime - REFRESH_MARGIN) if lifetime is not None else None
        session = Session(did=str(body["did"]), handle=str(body.get("handle") or ""), access=body["accessJwt"],
                          refresh=body["refreshJwt"], pds=pds, renew_at=renew_at)
        _SESSIONS[self._key] = session
        return session

    async def did_document(self, did: str) -> Any:
        """The DID document of *did* (did:plc from the PLC directory, did:web from its host), or None."""
        if did.startswith("did:plc:") and shape.valid(did[8:], shape.Id()):
            url = f"{self.plc}/{did}"
        elif did.startswith("did:web:") and ":" not in did[8:]:
            host = did[8:].replace("%3A", ":")
            scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
            url = f"{scheme}://{host}/.well-known/did.json"
        else:
            return None
        answer = await self.http.request("GET", url, path="the DID document", max_bytes=100_000)
        if answer.status != 200:
            log.warning("no DID document for %s (%d); staying on %s", did, answer.status, self.service)
            return None
        doc = answer.json()
        return doc if shape.valid(doc, DID_DOC) and doc.get("id") == did else None

    @property
    def pds(self) -> str:
        session = self.session
        return session.pds if session is not None and self.resolve_pds else self.service

    # ------------------------------------------------------------------ calls

    async def get(self, nsid: str, params: Any = None, *, expect: shape.Spec | None = None,
                  chat: bool = False) -> Any:
        return await self.call("GET", nsid, params=params, expect=expect, chat=chat)

    async def post(self, nsid: str, body: dict[str, Any], *, expect: shape.Spec | None = None, chat: bool = False) -> Any:
        return await self.call("POST", nsid, json=body, expect=expect, chat=chat)

    async def call(self, method: str, nsid: str, *, params: Any = None, json: Any = None,
                   expect: shape.Spec | None = None, chat: bool = False) -> Any:
        """One signed-in call to the PDS (chat calls proxied to the chat service); JSON checked by *expect*."""
        answer = await self.answer(method, nsid, params=params, json=json, chat=chat)
        return self._checked(answer, nsid, _budget(nsid), expect, chat)

    async def answer(self, method: str, nsid: str, *, params: Any = None, json: Any = None,
                     chat: bool = False) -> Answer:
        """One signed-in call, its answer unread but for the status (an error raises the typed error)."""
        budget = _budget(nsid)
        self.limiter.before(budget, WRITE_POINTS if nsid in WRITES else 1)
        session = await self.signed_in()
        answer = await self._signed(method, session, nsid, params, json, chat)
        name, _ = error_name(answer) if answer.status == 400 else ("", "")
        if name == "ExpiredToken":  # expired sooner than its exp claim said: refresh once and retry
            session = await self._refresh_session(session)
            answer = await self._signed(method, session, nsid, params, json, chat)
        self.limiter.update(budget, answer.headers)
        if answer.status >= 400:
            raise self.error(answer, nsid, budget, chat)
        return answer

    async def _signed(self, method: str, session: Session, nsid: str, params: Any, body: Any,
                      chat: bool) -> Answer:
        headers = {"Authorization": f"Bearer {session.access}"}
        if chat:
            if not self.chat_proxy:
                raise PermanentError("no chat service is configured for this Bluesky account")
            headers["atproto-proxy"] = self.chat_proxy
        base = session.pds if self.resolve_pds else self.service
        return await self._raw(method, base, nsid, params=params, json=body, headers=headers)

    async def _raw(self, method: str, base: str, nsid: str, **kwargs: Any) -> Answer:
        return await self.http.request(method, f"{base}/xrpc/{nsid}", path=nsid, **kwargs)

    def _checked(self, answer: Answer, nsid: str, budget: str, expect: shape.Spec | None = None,
                 chat: bool = False) -> Any:
        self.limiter.update(budget, answer.headers)
        if answer.status >= 400:
            raise self.error(answer, nsid, budget, chat)
        body = answer.json()
        if expect is not None:
            try:
                shape.check(body, expect)
            except shape.ShapeError as exc:
                raise MalformedResponse(f"Bluesky sent an unexpected answer on {nsid}: {exc}") from exc
        return body

    def error(self, answer: Answer, nsid: str, budget: str, chat: bool) -> Exception:
        status = answer.status
        name, message = error_name(answer)
        said = f"{name}: {message}" if name and message else (name or message or str(status))
        if chat and name == "InvalidToken" and "token method" in message.lower():
            return ChatNotAllowed(DM_INSTRUCTION)
        if status == 429 or name == "RateLimitExceeded":
            return RateLimited(f"Bluesky rate limit reached on {nsid}",
                               retry_after=self.limiter.wait_for(budget, answer.headers))
        if status == 401 or name in ("AuthenticationRequired", "InvalidToken", "ExpiredToken",
                                     "AccountTakedown", "AccountDeactivated"):
            _SESSIONS.pop(self._key, None)
            return AuthError(f"Bluesky refused the session on {nsid} ({said}); run "
                             "`agentconsole account test` and, if it fails, add the account again")
        if status >= 500 or status in (408, 425):
            return TemporaryError(f"Bluesky {status} on {nsid}: {said}")
        return PermanentError(f"Bluesky {status} on {nsid}: {said}")


def _budget(nsid: str) -> str:
    # The PDS answers each route with the headers of its tightest limit (repo writes count points), so
    # every method keeps its own budget.
    return nsid
