"""The outbox side of the crash test: a process that sends through a file-backed 'platform'."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from agentconsole.domain.clock import SystemClock
from agentconsole.sync.engine import Engine
from agentconsole.domain.models import Capabilities, Channel, FetchResult, SendResult
from agentconsole.storage.store import Store


class FilePlatform:
    """Appends every delivery to a file (fsynced), like a platform receiving a post; with
    `idempotent`, a repeated key is recognised and not posted again, as Mastodon's Idempotency-Key."""

    channel = Channel.MASTODON
    poll_interval = 60.0

    def __init__(self, path: str, idempotent: bool, hang_after_send: bool) -> None:
        self.path = path
        self.capabilities = Capabilities(idempotent_send=idempotent)
        self.hang = hang_after_send

    def _keys(self) -> list[str]:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            return [line.split()[0] for line in f if line.strip()]

    async def send(self, request):
        keys = self._keys()
        if not (self.capabilities.idempotent_send and request.idempotency_key in keys):
            with open(self.path, "a") as f:
                f.write(f"{request.idempotency_key} {request.text}\n")
                f.flush()
                os.fsync(f.fileno())
        if self.hang:
            print("posted", flush=True)
            time.sleep(3600)  # the crash window: posted, not yet marked sent
        return SendResult(f"status-{request.idempotency_key[:8]}", SystemClock().now(), request.thread_key)

    async def fetch(self, cursor):
        return FetchResult([], cursor)

    async def find_sent(self, request):
        return None

    async def check(self):
        return "file platform"

    async def close(self):
        pass


async def run(db: str, platform_file: str, idempotent: bool, hang: bool) -> None:
    store = Store(db)
    account = store.ensure_account("m", "mastodon", "file")
    engine = Engine(store, {account: FilePlatform(platform_file, idempotent, hang)}, clock=SystemClock())
    await engine.reconcile()
    await engine.dispatch_once()
    print("settled", flush=True)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3] == "idempotent", sys.argv[4] == "hang"))
