"""X API v2 over the shared HTTP layer: the user token on every call, x-rate-limit-* per endpoint,
and X's answers mapped to the typed errors (credits exhausted and the reply restriction among them)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, CreditsExhausted, PermanentError, RateLimited
from agentconsole.domain.sanitize import one_line
from connectors.http import DEADLINE, MAX_BYTES, Answer, Http, raise_for_status
from connectors.x.auth import TokenKeeper

log = logging.getLogger(__name__)

__all__ = ["Api", "CreditsExhausted", "Forbidden", "Limits", "ReplyRestricted"]

DEFAULT_WAIT = 60.0  # a 429 without a readable reset header
USER_AGENT = "agentconsole (+https://github.com/agentconsole)"


class Forbidden(PermanentError):
    """X answered 403 to a send: this request is refused for good (not the token)."""


class ReplyRestricted(Forbidden):
    """X refuses a public reply to a post that did not @mention or quote the brand (self-serve rule
    since 2026-02-24); permanent: offer a DM or a "please DM us" instead."""


def problem_text(answer: Answer) -> str:
    """X's explanation: a v2 problem's detail/title, the first of its errors, or the raw text."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return one_line(answer.text, 200)
    if isinstance(body, dict):
        parts = [body.get("detail"), body.get("title"), body.get("reason")]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            parts += [errors[0].get("message"), errors[0].get("detail")]
        said = " · ".join(str(p) for p in parts if isinstance(p, (str, int)) and str(p))
        if said:
            return one_line(said, 200)
    return one_line(str(body), 200)


def _credits_gone(answer: Answer) -> bool:
    if answer.status == 402:
        return True
    text = problem_text(answer).lower()
    return answer.status in (403, 429) and "credit" in text and ("deplet" in text or "exhaust" in text
                                                                  or "insufficient" in text)


class Limits:
    """x-rate-limit-* remembered per endpoint (X limits each endpoint on its own 15-min window)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.windows: dict[str, tuple[int, float]] = {}

    def update(self, route: str, headers: httpx.Headers) -> None:
        try:
            remaining = int(headers["x-rate-limit-remaining"])
            reset = float(headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return
        if reset == reset and 0 <= reset < 1e11:  # not NaN, a plausible Unix time
            self.windows[route] = (remaining, reset)

    def wait(self, route: str, headers: httpx.Headers | None = None) -> float:
        """Seconds until *route*'s window resets (a 429 carries no Retry-After: the reset is the answer)."""
        reset = None
        if headers is not None:
            try:
                reset = float(headers["x-rate-limit-reset"])
            except (KeyError, ValueError):
                reset = None
        if reset is None and route in self.windows:
            reset = self.windows[route][1]
        if reset is None or reset != reset:
            return DEFAULT_WAIT
        return min(max(1.0, reset - self.clock.now()), 24 * 3600.0)

    def before(self, route: str, reserve: int) -> None:
        window = self.windows.get(route)
        if window is None or window[0] > reserve:
            return
        if window[1] <= self.clock.now():
            del self.windows[route]  # the window has rolled over
            return
        raise RateLimited(f"X rate limit for {route} used up ({window[0]} left until the reset)",
                          retry_after=self.wait(route))


class Api:
    """One X account: every call carries the current user token, goes through the limiter, the
    shared deadline and size cap, and X's error mapping."""

    def __init__(self, base: str, client: httpx.AsyncClient, clock: Clock, tokens: TokenKeeper, *,
                 deadline: float = DEADLINE, max_bytes: int = MAX_BYTES) -> None:
        self.base = base.rstrip("/")
        self.clock = clock
        self.tokens = tokens
        self.http = Http(client, "X", deadline=deadline, max_bytes=max_bytes)
        self.limits = Limits(clock)

    async def call(self, method: str, path: str, *, route: str = "", params: Any = None, json: Any = None,
                   reserve: int = 0, send: bool = False) -> Answer:
        """One request; a refused token is refreshed once and the request repeated (X checks the token
        before it does anything, so even a POST is safe to repeat after a 401)."""
        route = route or path
        self.limits.before(route, reserve)
        for attempt in (1, 2):
            token = await self.tokens.access()
            answer = await self.http.request(method, self.base + path, path=path, params=params, json=json,
                                             headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
            self.limits.update(route, answer.headers)
            if answer.status == 401 and attempt == 1 and self.tokens.tokens.refresh_token:
                await self.tokens.refresh(token)
                continue
            break
        self._raise(answer, route, send)
        return answer

    def _raise(self, answer: Answer, route: str, send: bool) -> None:
        status = answer.status
        if status < 400:
            return
        if _credits_gone(answer):
            raise CreditsExhausted("X credits exhausted: top up the developer account's credits (or raise its "
                                   f"spending limit) in the X Developer Console ({problem_text(answer)})")
        if status == 401:
            raise AuthError(f"re-authorise: X refused the access token ({problem_text(answer)}); run "
                            "`agentconsole account add x` again")
        if status == 429:
            raise RateLimited(f"X rate limit reached on {route}", retry_after=self.limits.wait(route, answer.headers))
        if status == 403 and not send:
            raise AuthError(f"X denied {route} ({problem_text(answer)}): the app needs the scopes "
                            "tweet.read users.read dm.read (re-authorise) and a project with credits")
        if status == 403:
            raise Forbidden(f"X refused it (403: {problem_text(answer)})")
        raise_for_status(answer, "X", self.clock.now(), forbidden_is_auth=False)

    async def get(self, path: str, *, route: str = "", params: Any = None, reserve: int = 0) -> Answer:
        return await self.call("GET", path, route=route, params=params, reserve=reserve)
