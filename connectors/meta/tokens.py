"""Meta tokens as kept in the keyring: a Page token that never expires, or an Instagram Login token of
60 days that is refreshed weekly, with a failing refresh reported long before the token dies."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, ConnectorError

if TYPE_CHECKING:
    import httpx

    from agentconsole.channels.plugin import SetupIO
    from connectors.http import Answer
    from connectors.meta.graph import Graph

log = logging.getLogger(__name__)

DAY = 86_400.0
LIFETIME = 60 * DAY  # an Instagram Login long-lived token
REFRESH_EVERY = 7 * DAY
MIN_AGE = DAY  # Meta refreshes only tokens at least 24 h old
RETRY_AFTER = 3600.0
ALARM_BEFORE = 14 * DAY  # a refresh still failing this close to expiry stops the account, saying why


@dataclass
class TokenKeeper:
    """The token in use, when it was issued or last refreshed, when it expires, and how to keep it.

    A secret is either the bare token (a Page token: never expires) or JSON
    {"token", "refreshed_at", "expires_at"} written by the set-up and by each refresh."""

    token: str
    clock: Clock
    refreshed_at: float | None = None
    expires_at: float | None = None
    save: Callable[[str], object] | None = None
    refresh_error: str = ""
    refreshable: bool = False
    next_try: float = 0.0  # after a failed refresh, the next attempt waits (an hour)

    @classmethod
    def from_secret(cls, secret: str, clock: Clock, *, refreshable: bool,
                    save: Callable[[str], object] | None = None) -> TokenKeeper:
        secret = secret.strip()
        if secret.startswith("{"):
            try:
                data = json.loads(secret)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("token"), str):
                return cls(data["token"], clock, _num(data.get("refreshed_at")), _num(data.get("expires_at")),
                           save, refreshable=refreshable)
        return cls(secret, clock, save=save, refreshable=refreshable)

    def dump(self) -> str:
        return json.dumps({"token": self.token, "refreshed_at": self.refreshed_at, "expires_at": self.expires_at})

    def due(self) -> bool:
        if not self.refreshable:
            return False
        now = self.clock.now()
        if now < self.next_try:
            return False
        if self.refreshed_at is None:
            return True  # unknown age: a refresh tells us (Meta refuses one younger than a day)
        return now - self.refreshed_at >= REFRESH_EVERY and now - self.refreshed_at >= MIN_AGE

    def days_left(self) -> float | None:
        return None if self.expires_at is None else (self.expires_at - self.clock.now()) / DAY

    async def keep_fresh(self, graph: Graph) -> None:
        """Refresh when due; a failure is remembered and, once expiry is near, raised as AuthError."""
        if not self.due():
            return
        try:
            answer = await graph.request("GET", "/refresh_access_token",
                                         params={"grant_type": "ig_refresh_token", "access_token": self.token},
                                         unversioned=True)
            body = json.loads(answer.body)
            token, lasts = body.get("access_token"), body.get("expires_in")
            if not isinstance(token, str) or not token:
                raise ConnectorError("the refresh returned no token")
        except (ConnectorError, ValueError, AttributeError) as exc:
            self.refresh_error = f"{type(exc).__name__}: {exc}"
            self.next_try = self.clock.now() + RETRY_AFTER
            left = self.days_left()
            log.warning("Instagram token refresh failed (%s); %s", self.refresh_error,
                        f"{left:.0f} days left" if left is not None else "expiry unknown")
            if isinstance(exc, AuthError) or (left is not None and left * DAY < ALARM_BEFORE):
                raise AuthError(f"re-authorise: the Instagram token could not be refreshed ({self.refresh_error})"
                                + (f" and expires in {max(left, 0):.0f} days" if left is not None else "")) from exc
            return
        now = self.clock.now()
        self.token, self.refreshed_at = token, now
        self.expires_at = now + (float(lasts) if isinstance(lasts, (int, float)) and lasts > 0 else LIFETIME)
        self.refresh_error = ""
        graph.token = token
        if self.save is not None:
            try:
                self.save(self.dump())
            except Exception as exc:  # the keyring may be read-only (a headless fallback): say so, go on
                self.refresh_error = f"the refreshed token could not be saved: {exc}"
                log.warning("Instagram token refreshed but not saved: %s", exc)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# ---------------------------------------------------------------- the set-up's exchanges

INSTAGRAM_OAUTH = "https://api.instagram.com/oauth/access_token"


def _body(answer: Answer) -> dict[str, Any]:
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthError("Meta sent an unreadable answer to the token exchange")
    return body


async def long_lived_user_token(graph: Graph, values: Mapping[str, Any], short: str, app_secret: str) -> str:
    """Facebook Login's one-hour user token exchanged for the 60-day one the Page token derives from."""
    answer = await graph.request("GET", "/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": str(values["app_id"]), "client_secret": app_secret,
        "fb_exchange_token": short})
    token = _body(answer).get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError("Facebook returned no long-lived token")
    return token


async def page_token(graph: Graph, user_token: str, wanted: str, io: SetupIO) -> str:
    """The Page token (it never expires) of the Page named or numbered *wanted*, asked for when the
    user manages several; refuses a Page on which the user lacks the MESSAGING task."""
    graph.token = user_token
    body = _body(await graph.request("GET", "/me/accounts", params={"fields": "id,name,access_token,tasks"}))
    pages = [p for p in body.get("data") or [] if isinstance(p, dict) and p.get("access_token")]
    if not pages:
        raise AuthError("this login manages no Facebook Page (or pages_show_list was not allowed)")
    chosen = [p for p in pages if wanted and wanted in (str(p.get("id")), str(p.get("name")))]
    if not chosen and len(pages) == 1 and not wanted:
        chosen = pages
    if not chosen:
        for number, p in enumerate(pages, 1):
            io.say(f"  {number}. {str(p.get('name'))[:80]} ({p.get('id')})")
        answer = io.ask("Page number: ").strip()
        if not answer.isdigit() or not 0 < int(answer) <= len(pages):
            raise AuthError("no Page chosen")
        chosen = [pages[int(answer) - 1]]
    page = chosen[0]
    tasks = page.get("tasks")
    if isinstance(tasks, list) and "MESSAGING" not in tasks:
        raise AuthError(f"your role on {str(page.get('name'))[:80]} lacks the MESSAGING task; ask an admin")
    return str(page["access_token"])


async def instagram_login(http: httpx.AsyncClient, graph: Graph, values: Mapping[str, Any], code: str, app_secret: str) -> str:
    """Instagram Login: the code for a short-lived token, that for a 60-day one, kept with its dates."""
    from connectors.http import Http

    from connectors.meta.setup import DEFAULT_REDIRECT, secret_record

    answer = await Http(http, "Instagram").request("POST", INSTAGRAM_OAUTH, data={
        "client_id": str(values["app_id"]), "client_secret": app_secret, "grant_type": "authorization_code",
        "redirect_uri": str(values.get("redirect_uri") or DEFAULT_REDIRECT), "code": code})
    if answer.status >= 400:
        raise AuthError(f"Instagram refused the login code (HTTP {answer.status})")
    body = _body(answer)
    first = (body.get("data") or [body])[0] if isinstance(body.get("data"), list) else body
    short = first.get("access_token") if isinstance(first, dict) else None
    if not isinstance(short, str) or not short:
        raise AuthError("Instagram returned no token for the login code")
    answer = await graph.request("GET", "/access_token", unversioned=True, params={
        "grant_type": "ig_exchange_token", "client_secret": app_secret, "access_token": short})
    body = _body(answer)
    token, lasts = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not token:
        raise AuthError("Instagram returned no long-lived token")
    return secret_record(token, graph.clock.now(), float(lasts) if isinstance(lasts, (int, float)) else LIFETIME)
