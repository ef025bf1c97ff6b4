"""Email replies under kill -9 at every phase boundary and under SMTP faults, against the real Postfix and
Dovecot: every reply reaches the customer at most once, and every doubt is put to the agent."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from agentconsole import paths
from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.replies.outbox import Outbox
from agentconsole.secrets import env_var_name
from agentconsole.storage.store import Store
from connectors.email.settings import EmailSettings
from connectors.email.smtp import message_id_for

from tests.connectors.faulty_smtp import FaultySmtp
from tests.connectors.mailservers import CA_FILE, CUSTOMER, HOST, IMAP_PORT, SUPPORT, admin
from tests.connectors.sync_process import SyncProcess

pytestmark = [pytest.mark.servers, pytest.mark.slow]

BOUNDARIES = ("claimed", "transmitting", "hold", "accepted", "after-work")
ROUNDS = 6  # 6 x 5 boundaries = 30 kills


class Mailroom:
    """A workspace whose support account sends through the faulty relay, and its own IMAP folders."""

    def __init__(self, tmp_path: Path, relay: FaultySmtp, monkeypatch: pytest.MonkeyPatch,
                 **settings: object) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.inbox, self.sent = f"crash-{self.tag}", f"crash-{self.tag}-sent"
        self.box = admin(SUPPORT)
        self.box.create_folder(self.inbox)
        self.box.create_folder(self.sent)
        monkeypatch.setenv("AGENTCONSOLE_DATA_DIR", str(tmp_path))
        self.store = Store(paths.database_path(), SystemClock())
        self.settings = {
            "imap_host": HOST, "imap_port": IMAP_PORT, "imap_tls": "starttls", "smtp_host": HOST,
            "smtp_port": relay.port, "smtp_tls": "plain", "allow_plain": True, "tls_ca_file": str(CA_FILE),
            "folders": [self.inbox], "sent_folder": self.sent, "sync_sent": False, "timeout": 2.0, **settings}
        self.account = self.store.ensure_account("support", "email", "email", handle=SUPPORT[0],
                                                 settings=self.settings)
        self.domain = EmailSettings.from_mapping(self.settings, address=SUPPORT[0]).domain
        self.outbox = Outbox(self.store)
        self.items: dict[int, str] = {}  # outbox id -> Message-ID of the reply
        self.sync = SyncProcess(tmp_path, {env_var_name("support"): SUPPORT[1]})

    def queue_reply(self) -> int:
        n = len(self.items)
        request = OutboundRequest(uuid.uuid4().hex, "reply", f"Reply {n} of run {self.tag}",
                                  recipient=Person(CUSTOMER[0], CUSTOMER[0], "Customer"),
                                  subject=f"crash {self.tag} #{n}", kind=Kind.EMAIL)
        item = self.outbox.enqueue(self.account, request, conversation_id=None, agent_id=None)
        self.items[item] = message_id_for(request, self.domain)
        return item

    def states(self) -> dict[int, str]:
        return {i: self.outbox.item(i).state for i in self.items}

    def settle(self, runs: int = 6) -> None:
        """Run sync --once until nothing is due or in flight (retries wait out their back-off)."""
        for _ in range(runs):
            self.sync.run()
            busy = self.store.conn.execute(
                "SELECT max(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]
            if busy is None:
                return
            time.sleep(max(0.0, min(5.0, busy - time.time())) + 0.1)
        raise AssertionError(f"the outbox did not settle: {self.states()}")

    def copies(self, user: tuple[str, str], folder: str) -> Counter:
        """How many copies of each of our replies a real mailbox holds."""
        client = admin(user) if user != SUPPORT else self.box
        try:
            client.select_folder(folder, readonly=True)
            counts = Counter()
            for item, message_id in self.items.items():
                counts[item] = len(client.search(["HEADER", "Message-ID", message_id]))
            return counts
        finally:
            if client is not self.box:
                client.logout()

    def deliveries(self, relayed: int, wait: float = 30.0) -> Counter:
        """The customer's copies, once Postfix has delivered everything the relay handed it."""
        deadline = time.monotonic() + wait
        while True:
            counts = self.copies(CUSTOMER, "INBOX")
            if sum(counts.values()) >= relayed or time.monotonic() > deadline:
                return counts
            time.sleep(0.3)

    def close(self) -> None:
        customer = admin(CUSTOMER)
        try:
            customer.select_folder("INBOX")
            for message_id in self.items.values():
                uids = customer.search(["HEADER", "Message-ID", message_id])
                if uids:
                    customer.delete_messages(uids)
            customer.expunge()
        finally:
            customer.logout()
        for name in (self.inbox, self.sent):
            self.box.delete_folder(name)
        self.box.logout()
        self.store.close()


@pytest.fixture
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mail_servers: None, request: pytest.FixtureRequest):
    filing = getattr(request, "param", False)  # a server that files submitted mail in Sent itself
    relay = FaultySmtp(late_seconds=4.0).start()
    made = Mailroom(tmp_path, relay, monkeypatch,
                    **({"server_files_sent": True, "append_sent": False} if filing else {}))
    relay.files_in = made.sent if filing else ""
    made.relay = relay
    try:
        yield made
    finally:
        made.close()
        relay.stop()


def check(room: Mailroom, counts: Counter) -> dict[str, int]:
    """0 lost, 0 delivered twice, every doubt shown to the agent; returns the tally."""
    states = room.states()
    doubled = {i: n for i, n in counts.items() if n > 1}
    assert not doubled, f"delivered more than once: {doubled}"
    sent_missing = [i for i, s in states.items() if s == "sent" and counts[i] != 1]
    assert not sent_missing, f"marked sent but not delivered exactly once: {sent_missing}"
    others = {i: s for i, s in states.items() if s not in ("sent", "unsure")}
    assert not others, f"neither sent nor put to the agent: {others}"
    return {"items": len(states), "sent": sum(s == "sent" for s in states.values()),
            "asked": sum(s == "unsure" for s in states.values()),
            "asked_delivered": sum(s == "unsure" and counts[i] == 1 for i, s in states.items())}


def test_kill_9_at_every_phase_boundary_never_doubles_or_loses_a_reply(room: Mailroom) -> None:
    started = time.monotonic()
    for _ in range(ROUNDS):
        for boundary in BOUNDARIES:
            room.queue_reply()
            if boundary == "hold":  # between the final dot and the 250: the relay holds its answer
                room.relay.holding.clear()
                room.relay.next_mode("hold")
                run = room.sync.run(kill_when=lambda _: room.relay.holding.is_set())
            else:
                run = room.sync.run(pause_at=boundary)
            assert run.killed, f"never reached {boundary}: {run.out} {run.err}"
    room.settle()
    counts = room.deliveries(len(room.relay.relayed))
    tally = check(room, counts)
    # A copy in Sent for every sent reply, exactly one (after-work redone, never doubled).
    filed = room.copies(SUPPORT, room.sent)
    assert {i: filed[i] for i, s in room.states().items() if s == "sent" and filed[i] != 1} == {}
    # Each kill at "claimed" was resent safely; each kill after the dot and before the 250 was asked.
    assert tally["asked"] >= 2 * ROUNDS and tally["sent"] >= 3 * ROUNDS
    final = room.sync.run()
    assert final.returncode == 1 and "awaiting your decision" in final.err
    print(f"email kill -9: {room.sync.kills} kills, {tally}, "
          f"{sum(counts.values())} deliveries, {time.monotonic() - started:.0f} s")
    assert room.sync.kills >= 30


def test_smtp_faults_after_the_dot_are_put_to_the_agent_and_never_resent(room: Mailroom) -> None:
    dropped, late, died, refused = (room.queue_reply() for _ in range(4))
    room.relay.next_mode("drop", "late", "die", "tempfail")
    first = room.sync.run()
    assert first.returncode == 1
    room.settle()
    counts = room.deliveries(len(room.relay.relayed))
    check(room, counts)
    states = room.states()
    assert [states[i] for i in (dropped, late, died)] == ["unsure"] * 3
    assert [counts[i] for i in (dropped, late, died)] == [0, 1, 1]  # what the agent has to judge
    assert states[refused] == "sent" and counts[refused] == 1  # a 451 before the body: resent
    for item in (dropped, late, died):
        assert f"#{item} " in first.err


@pytest.mark.parametrize("room", [True], indirect=True)
def test_where_the_server_files_sent_mail_the_lookup_settles_every_doubt(room: Mailroom) -> None:
    for boundary in ("transmitting", "hold") * 3:
        room.queue_reply()
        if boundary == "hold":
            room.relay.holding.clear()
            room.relay.next_mode("hold")
            assert room.sync.run(kill_when=lambda _: room.relay.holding.is_set()).killed
        else:
            assert room.sync.run(pause_at=boundary).killed
    faulted = [room.queue_reply() for _ in range(3)]
    room.relay.next_mode("drop", "die", "late")
    room.settle()
    tally = check(room, room.deliveries(len(room.relay.relayed)))
    # Found in Sent: sent without a resend; not in Sent (never accepted): resent once. Nobody is asked.
    assert tally == {"items": 9, "sent": 9, "asked": 0, "asked_delivered": 0}
    assert all(room.states()[i] == "sent" for i in faulted)
    print(f"email, filing server: {room.sync.kills} kills, {tally}")
