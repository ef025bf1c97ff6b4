"""OAuth 2.0 for X: PKCE, the loopback redirect or a pasted address, and access tokens that refresh
themselves and are stored before they are used."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import logging
import os
import secrets as random
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from agentconsole import secrets
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, TemporaryError
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from connectors.http import Http

log = logging.getLogger(__name__)

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"
SCOPES = "tweet.read tweet.write users.read dm.read dm.write like.write offline.access"
REFRESH_MARGIN = 120.0  # refresh this long before the 2 h token runs out, so no request meets it expired
CALLBACK_PATH = "/callback"


@dataclasses.dataclass(frozen=True, slots=True)
class Tokens:
    """One grant: the access token, the (single-use) refresh token, when the access token expires."""

    access_token: str
    refresh_token: str = ""
    expires_at: float | None = None
    client_id: str = ""
    app_bearer: str = ""  # the app-only token the Activity API stream takes (optional)

    def dump(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Tokens:
        """The stored JSON, or a bare access token (e.g. one exported for a test) that cannot refresh."""
        text = text.strip()
        if not text.startswith("{"):
            return cls(text)
        try:
            data = json.loads(text)
            expires = data.get("expires_at")
            return cls(str(data["access_token"]), str(data.get("refresh_token") or ""),
                       float(expires) if expires is not None else None, str(data.get("client_id") or ""),
                       str(data.get("app_bearer") or ""))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuthError("the stored X tokens are unreadable; run `agentconsole account add x` again") from exc

    def due(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at - REFRESH_MARGIN


def from_token_answer(body: object, client_id: str, now: float, app_bearer: str = "") -> Tokens:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise AuthError("X's token endpoint returned no access token")
    try:
        lifetime = float(body.get("expires_in") or 7200)
    except (TypeError, ValueError):
        lifetime = 7200.0
    return Tokens(body["access_token"], str(body.get("refresh_token") or ""), now + lifetime, client_id, app_bearer)


# ---------------------------------------------------------------------- PKCE and the redirect

@dataclasses.dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str
    state: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = random.token_urlsafe(64)[:96]
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return cls(verifier, challenge, random.token_urlsafe(24))


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


def authorize_url(client_id: str, port: int, pkce: Pkce, base: str = AUTHORIZE_URL) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri(port),
                       "scope": SCOPES, "state": pkce.state, "code_challenge": pkce.challenge,
                       "code_challenge_method": "S256"})
    return f"{base}?{query}"


def code_from(pasted: str, state: str) -> str:
    """The authorisation code from what the person pasted: the whole redirected address (its state
    checked) or the bare code; raises AuthError for a refusal, a wrong state or nothing usable."""
    pasted = pasted.strip()
    if not pasted:
        raise AuthError("nothing was pasted")
    if "?" not in pasted and "=" not in pasted:
        return pasted
    query = parse_qs(urlsplit(pasted).query if "?" in pasted else pasted)
    if "error" in query:
        raise AuthError(f"X refused the authorisation: {one_line(query['error'][0], 80)}")
    if query.get("state", [""])[0] != state:
        raise AuthError("the pasted address is from another sign-in attempt (its state does not match)")
    code = query.get("code", [""])[0]
    if not code:
        raise AuthError("the pasted address has no code in it")
    return code


async def wait_for_redirect(port: int, state: str, timeout: float = 300.0,
                            ready: Callable[[], None] | None = None) -> str:
    """Listen on 127.0.0.1:*port* for X's redirect and return its code (checked against *state*).

    The code expires 30 s after it is issued, so the caller exchanges it at once."""
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split(" ")
            target = parts[1] if len(parts) > 1 else ""
            if urlsplit(target).path != CALLBACK_PATH:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            outcome: AuthError | str
            try:
                code = code_from(target, state)
            except AuthError as exc:
                page, outcome = f"agentconsole: {exc}. Go back to the terminal.", exc
            else:
                page, outcome = "agentconsole is connected to X. You can close this tab.", code
            body = page.encode("utf-8")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            if not found.done():
                if isinstance(outcome, Exception):
                    found.set_exception(outcome)
                else:
                    found.set_result(outcome)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                await writer.drain()
            except ConnectionError:
                pass
            writer.close()

    try:
        server = await asyncio.start_server(serve, "127.0.0.1", port)
    except OSError as exc:
        raise AuthError(f"cannot listen on 127.0.0.1:{port} for X's redirect ({exc}); choose another "
                        "--redirect-port (and register it in the app) or use --headless") from exc
    try:
        if ready is not None:
            ready()
        return await asyncio.wait_for(found, timeout)
    except TimeoutError:
        raise AuthError(f"no redirect from X within {timeout:.0f} s; run the set-up again") from None
    finally:
        server.close()


# ---------------------------------------------------------------------- the token endpoint

async def token_request(http: Http, api: str, form: Mapping[str, str]) -> dict[str, Any]:
    """POST the token endpoint (a public client: client_id in the body); typed errors for failures."""
    answer = await http.request("POST", api.rstrip("/") + TOKEN_PATH, path=TOKEN_PATH, data=dict(form),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    if answer.status in (400, 401, 403):
        from connectors.http import server_message

        raise AuthError(f"X refused the sign-in ({answer.status}: {server_message(answer)}); run "
                        "`agentconsole account add x` again")
    if answer.status == 429 or answer.status >= 500:
        raise TemporaryError(f"X's token endpoint answered {answer.status}; try again shortly")
    if answer.status >= 300:
        raise AuthError(f"X's token endpoint answered {answer.status}")
    body: dict[str, Any] = answer.json()
    return body


async def exchange_code(http: Http, api: str, client_id: str, code: str, verifier: str, port: int,
                        now: float) -> Tokens:
    body = await token_request(http, api, {"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": redirect_uri(port), "code_verifier": verifier,
                                           "client_id": client_id})
    return from_token_answer(body, client_id, now)


async def refresh_grant(http: Http, api: str, tokens: Tokens, now: float) -> Tokens:
    body = await token_request(http, api, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                                           "client_id": tokens.client_id})
    return from_token_answer(body, tokens.client_id, now, tokens.app_bearer)


# ---------------------------------------------------------------------- keeping tokens

class SecretStore:
    """The account's tokens in the secret store; written back only where we own the secret (the OS
    keyring), never over a password command's or an environment variable's."""

    def __init__(self, account: str, settings: Mapping[str, object]) -> None:
        self.account = account
        self.settings = settings

    def load(self) -> Tokens:
        try:
            return Tokens.parse(secrets.load_secret(self.account, self.settings))
        except secrets.SecretUnavailable as exc:
            raise AuthError(f"re-authorise: {exc}") from exc

    @property
    def writable(self) -> bool:
        return not (self.settings.get("password_command") or os.environ.get(secrets.env_var_name(self.account)))

    def save(self, tokens: Tokens) -> None:
        if not self.writable:
            raise secrets.SecretUnavailable(
                f"the tokens of '{self.account}' come from a command or ${secrets.env_var_name(self.account)}, "
                "which agentconsole cannot update; X's refresh tokens are single-use, so keep X tokens in "
                "the OS keyring")
        secrets.store_secret(self.account, tokens.dump())  # one keyring entry: replaced whole or not at all


class TokenKeeper:
    """The current access token: refreshed before it expires (or when X refuses it), the new grant
    stored before it is used, and the old refresh token never sent again after a success."""

    def __init__(self, tokens: Tokens, store: SecretStore | None, refresher: Callable[[Tokens], Awaitable[Tokens]],
                 clock: Clock) -> None:
        self.tokens = tokens
        self.store = store
        self.refresher = refresher
        self.clock = clock
        self.unsaved = ""  # why the newest grant is only in memory, if it is
        self._lock = asyncio.Lock()

    async def access(self) -> str:
        if self.unsaved and getattr(self.store, "writable", True):
            self._save(self.tokens)  # the keyring may be back: store the grant we hold
        if self.tokens.due(self.clock.now()):
            await self.refresh(self.tokens.access_token)
        return self.tokens.access_token

    async def refresh(self, stale: str) -> None:
        """Replace the access token *stale* (one request at a time; a token already replaced is left)."""
        async with self._lock:
            if self.tokens.access_token != stale:
                return
            if self.store is not None and not self.unsaved:
                try:  # another process (a second agent, `account test`) may have refreshed already
                    stored = self.store.load()
                except AuthError:
                    stored = None
                if stored is not None and stored.access_token not in ("", stale) \
                        and not stored.due(self.clock.now()):
                    self.tokens = stored
                    return
            if not self.tokens.refresh_token:
                raise AuthError("the X access token has expired or was refused and there is no refresh token; "
                                "run `agentconsole account add x` again")
            new = await self.refresher(self.tokens)  # raises: nothing changed, the old grant is still ours
            self.tokens = new
            self._save(new)

    def _save(self, tokens: Tokens) -> None:
        if self.store is None:
            return
        try:
            self.store.save(tokens)
            self.unsaved = ""
        except secrets.SecretUnavailable as exc:
            self.unsaved = str(exc)
            log.error("X issued new tokens that could not be stored (%s); they are kept in memory for now",
                      exc)
