"""A scripted in-memory connector for engine and outbox tests (a test double, not a product connector)."""

from __future__ import annotations

from agentconsole.domain.errors import ConnectorError
from agentconsole.domain.models import Capabilities, Channel, FetchResult, OutboundRequest, SendResult


class ScriptedConnector:
    """Serves pages from `pages` (cursor index -> FetchResult) and records every send attempt."""

    channel = Channel.MASTODON
    poll_interval = 0.01

    def __init__(self, clock, pages=None, *, capabilities=None, fail_fetch=None, fail_send=None):
        self.clock = clock
        self.pages = pages or []
        self.capabilities = capabilities or Capabilities(idempotent_send=True)
        self.fail_fetch: list[ConnectorError] = list(fail_fetch or [])
        self.fail_send: list[BaseException | None] = list(fail_send or [])
        self.sent: list[OutboundRequest] = []
        self.delivered: dict[str, SendResult] = {}
        self.fetches = 0

    async def fetch(self, cursor):
        self.fetches += 1
        if self.fail_fetch:
            raise self.fail_fetch.pop(0)
        index = int(cursor or 0)
        if index >= len(self.pages):
            return FetchResult([], cursor)
        return FetchResult(self.pages[index], str(index + 1), more=index + 1 < len(self.pages))

    async def send(self, request):
        self.sent.append(request)
        failure = self.fail_send.pop(0) if self.fail_send else None
        if failure is not None:  # None in the script means "this one succeeds"
            raise failure
        if request.idempotency_key not in self.delivered:
            self.delivered[request.idempotency_key] = SendResult(
                f"out-{len(self.delivered) + 1}", self.clock.now(), request.thread_key)
        return self.delivered[request.idempotency_key]

    async def find_sent(self, request):
        return self.delivered.get(request.idempotency_key)

    async def check(self):
        return "scripted"

    async def close(self):
        pass
