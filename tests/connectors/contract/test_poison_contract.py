"""Issue 21's poisoned inputs, run for every registered plug-in: one bad item on a page or in a mailbox,
fetched by the plug-in's connector and ingested by the real store, never blocks its batch, hides the good
items, holds the cursor back or puts a control sequence into stored display text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentconsole.storage.store import Store
from agentconsole.sync.engine import Engine
from tests.connectors.contract.conftest import GOOD, POISONS, TAIL, Harness, applicable

GOOD_ITEMS = 3
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # ESC, the C0 controls but tab and newline, C1


@pytest.mark.parametrize("poison", POISONS)
async def test_one_poisoned_item_spoils_only_itself(harness: Harness, poison: str, tmp_path: Path) -> None:
    applicable(harness, f"poison:{poison}")
    good = await harness.seed_poison(poison, GOOD_ITEMS)
    store = Store(tmp_path / "poison.db", harness.clock)
    row = harness.account()
    account = store.ensure_account(row.name, row.channel, row.connector, handle=row.handle,
                                   display_name=row.display_name, settings=row.settings)
    connector = harness.build()
    engine = Engine(store, {account: connector}, clock=harness.clock)
    try:
        await engine.sync_once(account)  # never raises: the batch is stored with the poisoned item
        cursor = store.cursor(account)
        assert cursor is not None
        rows = store.conn.execute("SELECT text, subject, author_name, author_handle, parse_note, raw FROM messages"
                                  " WHERE account_id = ?", (account,)).fetchall()
        goods = [r for r in rows if GOOD in r["text"]]
        assert len(goods) == good, [r["text"][:80] for r in rows]
        assert all(r["parse_note"] == "" for r in goods), [r["parse_note"] for r in goods]
        poisoned = [r for r in rows if GOOD not in r["text"]]
        assert len(poisoned) == 1, [r["text"][:80] for r in rows]
        assert poisoned[0]["parse_note"], f"the {poison} item was stored without a note"
        assert poisoned[0]["raw"], "the poisoned item's raw payload was not kept"
        if poison != "huge":  # (a huge text is cut for display, said so in the note, kept whole raw)
            assert "poisoned item" in poisoned[0]["text"] and TAIL in poisoned[0]["text"], \
                f"text after the {poison} was lost: {poisoned[0]['text'][:120]!r}"
        for r in rows:
            for field in ("text", "subject", "author_name", "author_handle"):
                assert not CONTROLS.search(r[field]), f"a control reached stored {field}: {r[field][:80]!r}"
        print(f"{harness.name} {poison}: {poisoned[0]['parse_note'][:120]}")
        # The cursor moved on past the poisoned item: the next sync brings only what is new.
        more = await harness.seed(1)
        assert await engine.sync_once(account) == more
    finally:
        await connector.close()
        store.close()
