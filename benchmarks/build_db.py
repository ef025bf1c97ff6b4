"""Build the benchmark workspace (100k conversations, 1M messages) through the store API and time it."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person, Status
from agentconsole.storage.store import Store

OPENERS = [
    "my order {n} never arrived and nobody answers", "is the store open on Sunday?",
    "the package came broken, can I get a refund for order {n}", "love the new autumn collection!",
    "I was charged twice for invoice {n}", "can't log in to my account since yesterday",
    "do you ship to Canada? and how long does it take", "which size should I take, I'm usually an M",
    "the tracking link for {n} shows nothing", "thanks for the quick help last week",
    "where is my parcel?? ordered {n} ten days ago", "your discount code WINTER{n} does not work",
]
FOLLOWUPS = ["hello??", "any news?", "still waiting on this", "ok thanks", "perfect, thank you!",
             "that worked", "it says delivered but it is not here", "here is a photo of the box",
             "can you call me instead?", "order number is {n}"]
REPLIES = ["Hi {first}, sorry about that. Could you send us your order number by DM?",
           "Hi {first}! Yes, we're open 10–16 on Sundays.", "Thanks {first}, refund is on its way.",
           "We've checked with the courier: it arrives tomorrow.", "Glad we could help, {first}!"]
FIRST = ["Dana", "Sam", "Jia", "Ray", "Mo", "Lena", "Omar", "Ana", "Yuki", "Priya", "Tom", "Eva", "李娜",
         "Αλέξανδρος", "محمد", "Zoë", "Kwame", "Ines", "Lars", "Chloé"]
LAST = ["Kim", "Ortiz", "Li", "Novak", "Haddad", "Smith", "Tanaka", "Rao", "Berg", "Costa", "Okafor"]
ACCOUNTS = [("bench-x", "x"), ("bench-facebook", "facebook"), ("bench-mastodon", "mastodon"),
            ("bench-bluesky", "bluesky"), ("bench-email", "email")]


def stream(conversations: int, rng: random.Random, start: float, span: float, chunk: int = 2000):
    """Messages in time order, conversation after conversation overlapping as they do in a real inbox."""
    for base in range(0, conversations, chunk):
        pending = []
        for c in range(base, min(conversations, base + chunk)):
            account = c % len(ACCOUNTS)
            channel = ACCOUNTS[account][1]
            kind = Kind.EMAIL if channel == "email" else (Kind.DM if c % 3 == 0 else Kind.PUBLIC)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            pid = rng.randrange(60_000)
            person = Person(f"p{pid}", f"{first.lower()}{pid}", f"{first} {last}")
            shop = Person("shop", "juniper_co", "Alice Ng")
            at = start + span * c / conversations
            n = min(60, max(1, int(rng.expovariate(1 / 10.6))))
            old = c < conversations * 0.97  # all but the newest few percent were answered in the end
            for k in range(n):
                out = (k % 2 == 1 and rng.random() < 0.8) or (old and k == n - 1)
                text = (rng.choice(REPLIES) if out else rng.choice(OPENERS if k == 0 else FOLLOWUPS)).format(
                    n=rng.randrange(10_000, 99_999), first=first)
                pending.append((account, InboundMessage(
                    f"c{c}m{k}", f"c{c}", kind, shop if out else person, text, at,
                    direction=Direction.OUT if out else Direction.IN,
                    subject=f"Order question {c}" if kind == Kind.EMAIL else "")))
                at += rng.uniform(30, 4 * 3600)
        pending.sort(key=lambda pair: pair[1].sent_at)
        yield from pending


def build(path: Path, conversations: int, batch: int, seed: int = 7, end: float | None = None) -> dict:
    """Ingest the workspace through Store.ingest; the newest messages end a few hours before *end*
    (default: now, so waiting times look like a live inbox's); most older conversations are done."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    end = float(int(time.time())) if end is None else end
    clock = FrozenClock(end)
    store = Store(path, clock)
    # Accounts use the demo connector, nearly silent, so the app syncs while it is measured.
    ids = [store.ensure_account(name, channel, "demo", settings={"interval": 3600, "seed": 1})
           for name, channel in ACCOUNTS]
    rng = random.Random(seed)
    buffers: dict[int, list[InboundMessage]] = {i: [] for i in ids}
    total, elapsed = 0, 0.0
    for account, message in stream(conversations, rng, end - 90 * 86400, 90 * 86400 - 3 * 3600):
        buf = buffers[ids[account]]
        buf.append(message)
        if len(buf) >= batch:
            t = time.perf_counter()
            store.ingest(ids[account], buf, f"{total}")
            elapsed += time.perf_counter() - t
            total += len(buf)
            buf.clear()
    for account_id, buf in buffers.items():
        if buf:
            t = time.perf_counter()
            store.ingest(account_id, buf, f"{total}")
            elapsed += time.perf_counter() - t
            total += len(buf)
    # Most conversations older than two days were resolved, as in a real inbox (one transaction).
    cutoff = end - 2 * 86400
    done = store.conn.execute("SELECT id, last_message_at FROM conversations WHERE last_message_at < ?"
                              " AND needs_reply = 0", (cutoff,)).fetchall()
    with store.transaction():
        for conversation_id, last in done[: int(len(done) * 0.9)]:
            clock.set(last + rng.uniform(60, 4 * 3600))  # marked done a little after the last reply
            store.set_status(conversation_id, Status.DONE, None)
    clock.set(end)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    convs = store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    store.close()
    return {"messages": total, "conversations": convs, "ingest_seconds": round(elapsed, 2),
            "ingest_messages_per_second": round(total / elapsed), "batch": batch,
            "db_mb": round(path.stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    json.dump(build(args.path, args.conversations, args.batch), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
