"""Meta's Graph API over the shared HTTP layer: the error envelope as typed errors, usage headers as an
early back-off, cursor paging, and JSON read so one bad item spoils only itself."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, PermanentError, RateLimited, TemporaryError
from agentconsole.domain.normalise import valid_str
from agentconsole.domain.sanitize import one_line
from connectors.http import DEADLINE, MAX_BYTES, Answer, Http, MalformedResponse

log = logging.getLogger(__name__)

DEFAULT_VERSION = "v26.0"
FACEBOOK_HOST = "https://graph.facebook.com"
INSTAGRAM_HOST = "https://graph.instagram.com"
BACK_OFF_AT = 75  # percent of any usage figure: stop polling here, before Meta stops us
SEND_STOP_AT = 95  # replies still go out between the two, so a busy hour never silences the agent
USAGE_PAUSE = 300.0  # seconds to wait when a usage header is high but names no time to regain access
RATE_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008, 80014})
AUTH_CODES = frozenset({102, 190, 463, 467})
WINDOW_SUBCODE = 2018278  # code 10: the message is outside the allowed window
RESTRICTED_SUBCODE = 1893063  # code 10: the Page is temporarily restricted from sending
UNAVAILABLE_CODE = 551  # this person isn't available right now


class WindowClosed(PermanentError):
    """Meta refused the message as outside the messaging window (10/2018278); never retried."""


class PageRestricted(PermanentError):
    """Meta restricted the Page from sending (10/1893063); an alert, never retried."""


class PersonUnavailable(PermanentError):
    """The person cannot be messaged now (551): blocked the Page, deactivated, or similar."""


@dataclass(frozen=True, slots=True)
class GraphError:
    code: int
    subcode: int
    message: str
    kind: str
    transient: bool


def graph_error(answer: Answer) -> GraphError | None:
    """Meta's error envelope {"error": {"message", "type", "code", "error_subcode", ...}}, if any."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None

    def number(key: str) -> int:
        value = error.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return GraphError(number("code"), number("error_subcode"), one_line(str(error.get("message") or ""), 200),
                      one_line(str(error.get("type") or ""), 60), error.get("is_transient") is True)


def usage(headers: httpx.Headers) -> tuple[int, float]:
    """(the highest percentage in X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage, seconds
    Meta says until access is regained); odd values count as nothing."""
    highest, regain = 0, 0.0
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        figures = _json_header(headers.get(name))
        if isinstance(figures, dict):
            highest = max(highest, _top(figures))
    business = _json_header(headers.get("x-business-use-case-usage"))
    if isinstance(business, dict):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    highest = max(highest, _top(entry))
                    minutes = entry.get("estimated_time_to_regain_access")
                    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 < minutes < 1440:
                        regain = max(regain, float(minutes) * 60)
    return highest, regain


def _json_header(value: str | None) -> Any:
    if not value or len(value) > 10_000:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _top(figures: Mapping[str, Any]) -> int:
    values = [figures.get(k) for k in ("call_count", "total_cputime", "total_time")]
    return max([int(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
                and 0 <= v <= 1000], default=0)


def parse_time(value: Any) -> float | None:
    """Graph's times ("2025-11-25T08:00:00+0000") as epoch seconds; None when unreadable."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def decode(content: bytes, what: str) -> Any:
    """A JSON document whatever its bytes: invalid UTF-8 stays escaped inside its own strings (see
    :func:`repaired`), so one bad comment cannot fail the page."""
    try:
        return json.loads(content.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise MalformedResponse(f"Meta sent a non-JSON answer on {what}") from exc


def repaired(value: Any) -> tuple[Any, bool]:
    """*value* with every string valid Unicode (escaped bytes, lone surrogates to U+FFFD), and whether
    any had to change."""
    if isinstance(value, str):
        fixed = valid_str(value)
        return fixed, fixed is not value
    if isinstance(value, list):
        pairs = [repaired(v) for v in value]
        return [v for v, _ in pairs], any(b for _, b in pairs)
    if isinstance(value, dict):
        out, bad = {}, False
        for key, item in value.items():
            out[key], changed = repaired(item)
            bad = bad or changed
        return out, bad
    return value, False


def raw_of(item: Any) -> bytes:
    """The item's JSON as bytes, its invalid bytes kept as they came (a lone surrogate Meta escaped
    as \\ud800 stays escaped)."""
    text = json.dumps(item, ensure_ascii=False)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return json.dumps(item).encode("ascii", "surrogateescape")


class Graph:
    """One Graph host, version and token: usage-aware back-off, typed errors, cursor paging."""

    def __init__(self, base: str, token: str, clock: Clock, client: httpx.AsyncClient, *,
                 platform: str = "Facebook", deadline: float = DEADLINE, max_bytes: int = MAX_BYTES) -> None:
        self.base = base.rstrip("/")
        head, _, last = self.base.rpartition("/")
        # Token calls such as Instagram's refresh_access_token live outside the versioned path.
        self.host = head if last[:1] == "v" and last[1:].replace(".", "").isdigit() else self.base
        self.token = token
        self.clock = clock
        self.platform = platform
        self.http = Http(client, platform, deadline=deadline, max_bytes=max_bytes)
        self.usage = 0
        self.paused_until = 0.0

    def check_budget(self, send: bool = False) -> None:
        now = self.clock.now()
        if now >= self.paused_until:
            return
        if send and self.usage < SEND_STOP_AT:
            return
        raise RateLimited(f"{self.platform}: {self.usage}% of Meta's rate limit used; pausing before the "
                          "limit", retry_after=max(1.0, self.paused_until - now))

    def _note_usage(self, headers: httpx.Headers) -> None:
        highest, regain = usage(headers)
        self.usage = highest
        if highest >= BACK_OFF_AT or regain:
            self.paused_until = self.clock.now() + (regain or USAGE_PAUSE)
            log.info("%s usage at %d%%: polling pauses for %.0f s", self.platform, highest,
                     self.paused_until - self.clock.now())
        else:
            self.paused_until = 0.0

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      data: Mapping[str, Any] | None = None, json_body: Any = None, send: bool = False,
                      deadline: float | None = None, unversioned: bool = False) -> Answer:
        """One call; raises the typed errors (see :meth:`raise_for`)."""
        self.check_budget(send)
        query = dict(params or {})
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = await self.http.request(method, (self.host if unversioned else self.base) + path, path=path, params=query, data=data,
                                         json=json_body, headers=headers, deadline=deadline)
        self._note_usage(answer.headers)
        if answer.status >= 400:
            self.raise_for(answer, send)
        return answer

    def raise_for(self, answer: Answer, send: bool) -> None:
        error = graph_error(answer)
        where = f"{self.platform} on {answer.path}"
        if error is None:
            if answer.status >= 500 or answer.status in (408, 425, 429):
                raise TemporaryError(f"{where}: HTTP {answer.status}")
            if answer.status in (401, 403):
                raise AuthError(f"re-authorise: {where} refused the token (HTTP {answer.status})")
            raise PermanentError(f"{where}: HTTP {answer.status}")
        said = f"{error.message} (code {error.code}" + (f"/{error.subcode})" if error.subcode else ")")
        if error.code in AUTH_CODES or error.kind == "OAuthException" and error.code in (0, 1):
            raise AuthError(f"re-authorise: {self.platform} no longer accepts the token: {said}")
        if error.code in RATE_CODES:
            _, regain = usage(answer.headers)
            wait = max(regain, max(1.0, self.paused_until - self.clock.now()) if self.paused_until else 0.0)
            raise RateLimited(f"{where}: rate limit reached: {said}", retry_after=wait or USAGE_PAUSE)
        if error.code == 10 and error.subcode == WINDOW_SUBCODE:
            raise WindowClosed(f"{self.platform} refused it: outside the messaging window ({said})")
        if error.code == 10 and error.subcode == RESTRICTED_SUBCODE:
            raise PageRestricted(f"{self.platform} has temporarily restricted this Page from sending "
                                 f"messages; nothing more is sent until Meta lifts it ({said})")
        if error.code == UNAVAILABLE_CODE:
            raise PersonUnavailable(f"this person isn't available on {self.platform} right now ({said})")
        if error.transient or error.code in (1, 2) or answer.status >= 500:
            raise TemporaryError(f"{where}: {said}")
        if not send and (error.code == 10 or 200 <= error.code < 300):
            raise AuthError(f"re-authorise: {where} needs a permission the token lacks: {said}")
        raise PermanentError(f"{where}: {said}")

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        answer = await self.request("GET", path, params=params)
        return decode(answer.body, path)

    async def pages(self, path: str, params: Mapping[str, Any], max_pages: int) -> AsyncIterator[tuple[Any, bool]]:
        """Yield (items, more) page after page, following paging.cursors.after ourselves: the server's
        ``next`` URL is never followed, so a hostile answer cannot send the token elsewhere."""
        query = dict(params)
        for number in range(max_pages):
            body = await self.get(path, query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedResponse(f"{self.platform} sent an unexpected answer on {path}: no data list")
            after = next_cursor(body)
            more = after is not None
            yield body["data"], more and number == max_pages - 1
            if not more:
                return
            query["after"] = after


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor of a page that says it has a next one, else None."""
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) and 0 < len(after) <= 2000 else None
