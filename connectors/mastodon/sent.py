"""What became of a Mastodon post that got no answer: the POST's failure as a type, and the lookup."""

from __future__ import annotations

import json

import httpx

from agentconsole.domain.errors import ConnectorError, NotSent, OutcomeUnknown, TemporaryError
from agentconsole.domain.models import OutboundRequest, SendResult

from connectors.mastodon.client import Api, parse_time
from connectors.mastodon.html import html_to_text

LOOKUP_PAGES = 5  # pages of 40 of our own statuses read back at most
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def post_outcome(exc: TemporaryError) -> ConnectorError:
    """A failed POST /statuses as NotSent when the connection never opened (refused, DNS, TLS), else
    OutcomeUnknown: a timeout, a dropped connection or a 5xx after the body left may hide a new status."""
    if isinstance(exc.__cause__, _NEVER_LEFT):
        return NotSent(f"Mastodon: the post never left: {exc}")
    return OutcomeUnknown(f"Mastodon: no answer to the post ({exc}); it may have been posted")


async def find_own_status(api: Api, own_id: str, local_host: str, request: OutboundRequest,
                          since: float | None, now: float) -> SendResult | None:
    """Our status with the request's text and parent created at or after *since*, or None.

    Authoritative: our own statuses are read back page by page until one is older than *since*; a
    lookup that cannot reach that far raises instead of answering "not found". Without *since*, only
    the newest page is read (and "not found" proves little).
    """
    wanted = " ".join(request.text.split())
    parent = str(request.in_reply_to) if request.in_reply_to else None
    params = {"limit": "40", "exclude_reblogs": "true"}
    for _ in range(LOOKUP_PAGES):
        page = await api.get_json(f"/api/v1/accounts/{own_id}/statuses", params=params)
        if not isinstance(page, list):
            raise TemporaryError("Mastodon: our own statuses came back in an unknown shape")
        for status in page:
            found = _same_send(status, wanted, parent, since, local_host, request, now)
            if found is not None:
                return found
        times = [parse_time(st.get("created_at")) for st in page if isinstance(st, dict)]
        if not page or since is None or any(t is not None and t < since for t in times):
            return None  # read back past the first attempt (or all there is): it is not there
        last = page[-1].get("id") if isinstance(page[-1], dict) else None
        if not last:
            break
        params = {**params, "max_id": str(last)}
    raise TemporaryError("Mastodon: could not read our statuses back far enough to tell whether the "
                         "send arrived")


def _same_send(status: object, wanted: str, parent: str | None, since: float | None, local_host: str,
               request: OutboundRequest, now: float) -> SendResult | None:
    if not isinstance(status, dict) or not status.get("id"):
        return None
    got_parent = str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None
    created = parse_time(status.get("created_at"))
    if got_parent != parent or (since is not None and created is not None and created < since):
        return None
    text = " ".join(html_to_text(status.get("content"), status.get("mentions"), local_host).split())
    if not wanted or not text.endswith(wanted):
        return None  # a mention we put first may precede it; the agent's text ends the status
    return SendResult(external_id=str(status["id"]), sent_at=created or now,
                      thread_key=request.thread_key, raw=json.dumps(status, ensure_ascii=False))
