"""Mastodon replies under kill -9 at every phase boundary and under server faults, against a local server of
our own that honours Idempotency-Key for a short time: every reply is posted at most once, and every doubt
is settled by the authoritative lookup or put to the agent."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from agentconsole import paths
from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.secrets import env_var_name
from agentconsole.storage.store import Store

from tests.connectors.fake_mastodon import CUSTOMER, PARENT_ID, FakeMastodon
from tests.connectors.sync_process import SyncProcess

pytestmark = pytest.mark.slow

BOUNDARIES = ("claimed", "transmitting", "hold")
ROUNDS = 10  # 10 x 3 boundaries = 30 kills
KEY_WINDOW = 2.0  # seconds the server remembers a key, and the account believes it does


class Instance:
    def __init__(self, tmp_path: Path, server: FakeMastodon, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path))
        self.store = Store(paths.database_path(), SystemClock())
        self.account = self.store.ensure_account(
            "shop", "mastodon", "mastodon", handle="@shop",
            settings={"instance": server.url, "account_id": "1", "idempotency_window": KEY_WINDOW,
                      "send_deadline": 2.0})
        self.outbox = Outbox(self.store)
        self.texts: dict[int, str] = {}
        self.sync = SyncProcess(tmp_path, {env_var_name("shop"): "token"})
        self.tag = uuid.uuid4().hex[:8]

    def queue_reply(self) -> int:
        text = f"reply {len(self.texts)} of {self.tag}"
        request = OutboundRequest(uuid.uuid4().hex, "reply", text, in_reply_to=PARENT_ID,
                                  recipient=Person(CUSTOMER["id"], "@dana"), kind=Kind.PUBLIC)
        item = self.outbox.enqueue(self.account, request, conversation_id=None, agent_id=None)
        self.texts[item] = text
        return item

    def states(self) -> dict[int, str]:
        return {i: self.outbox.item(i).state for i in self.texts}

    def settle(self, runs: int = 8) -> None:
        for _ in range(runs):
            self.sync.run()
            busy = self.store.conn.execute(
                "SELECT max(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]
            if busy is None:
                return
            time.sleep(max(0.0, min(5.0, busy - time.time())) + 0.1)
        raise AssertionError(f"the outbox did not settle: {self.states()}")

    def check(self) -> dict[str, int]:
        """0 lost, 0 posted twice, every doubt put to the agent; returns the tally."""
        states = self.states()
        posted = {i: self.server.created_for(t) for i, t in self.texts.items()}
        assert {i: n for i, n in posted.items() if n > 1} == {}, "posted more than once"
        assert [i for i, s in states.items() if s == "sent" and posted[i] != 1] == [], "sent but not posted"
        assert {i: s for i, s in states.items() if s not in ("sent", "unsure")} == {}
        for item, state in states.items():
            if state == "sent":  # the id we stored is the one the server gave
                ext = self.store.conn.execute("SELECT external_id FROM outbox WHERE id = ?", (item,)).fetchone()[0]
                assert any(s["id"] == ext and s["_text"].endswith(self.texts[item]) for s in self.server.statuses)
        return {"items": len(states), "sent": sum(s == "sent" for s in states.values()),
                "asked": sum(s == "unsure" for s in states.values()),
                "asked_posted": sum(s == "unsure" and posted[i] == 1 for i, s in states.items())}


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    server = FakeMastodon(key_window=KEY_WINDOW, trickle_seconds=0.5).start()
    made = Instance(tmp_path, server, monkeypatch)
    try:
        yield made
    finally:
        made.store.close()
        server.stop()


def test_kill_9_at_every_phase_boundary_never_posts_twice(instance: Instance) -> None:
    started = time.monotonic()
    instance.server.fail_lookups_every = 4  # some lookups fail: the key window, then the agent, decide
    for n in range(ROUNDS):
        for boundary in BOUNDARIES:
            instance.queue_reply()
            if boundary == "hold":  # the status is created, its answer never comes
                instance.server.holding.clear()
                instance.server.next_mode("hold")
                run = instance.sync.run(kill_when=lambda _: instance.server.holding.is_set())
            else:
                run = instance.sync.run(pause_at=boundary)
            assert run.killed, f"never reached {boundary}: {run.out} {run.err}"
            if n % 3 == 2:
                time.sleep(KEY_WINDOW)  # a closed laptop: the key is forgotten before the restart
    instance.settle()
    tally = instance.check()
    print(f"mastodon kill -9: {instance.sync.kills} kills, {tally}, {instance.server.posts} POSTs, "
          f"{len(instance.server.statuses)} statuses, {time.monotonic() - started:.0f} s")
    assert instance.sync.kills >= 30
    assert tally["sent"] >= 2 * ROUNDS  # kills before the POST resend; after it the lookup settles


def test_server_faults_after_the_post_are_settled_by_the_lookup(instance: Instance) -> None:
    dropped, lost, trickled, failed, slow_key = (instance.queue_reply() for _ in range(5))
    instance.server.next_mode("drop", "lost", "trickle", "error", "lost")
    started = time.monotonic()
    instance.sync.run()
    assert time.monotonic() - started < 20  # the trickle is cut off at the send deadline
    instance.settle()
    tally = instance.check()
    assert tally == {"items": 5, "sent": 5, "asked": 0, "asked_posted": 0}


def test_the_key_window_is_checked_again_at_every_retry(instance: Instance) -> None:
    item = instance.queue_reply()
    instance.server.fail_lookups_every = 1  # the lookup never works here
    instance.server.next_mode("lost")  # the POST left and no answer came; nothing was created
    instance.sync.run()
    row = instance.outbox.item(item)
    assert row.state == "pending" and "same idempotency key" in row.last_error  # inside the window
    time.sleep(KEY_WINDOW + 0.5)  # the retry comes after the platform forgot the key
    instance.settle()
    row = instance.outbox.item(item)
    assert row.state == "unsure" and "forgets the idempotency key" in row.last_error
    assert instance.server.posts == 1  # not resent once the key was forgotten
    run = instance.sync.run()
    assert instance.server.posts == 1 and run.returncode == 1 and f"#{item} " in run.err
