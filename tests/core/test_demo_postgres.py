"""The demo workspace on either backend: `--demo --storage-url URL` puts the demo inbox on the server;
a configured [storage] url (the team's workspace) never gets the demo's accounts."""

from __future__ import annotations

import psycopg
import pytest

from agentconsole import cli, paths
from agentconsole.domain.clock import SystemClock
from agentconsole.storage.store import Store
from tests import pg


@pytest.fixture
def server_url():
    url = pg.fresh_database("pgmove")
    yield url
    pg.drop(url)


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_demo_with_a_storage_url_syncs_the_demo_inbox_into_the_server(capsys, server_url):
    assert cli.main(["--storage-url", server_url, "sync", "--once", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "demo-email:" in out and "new message(s)" in out
    assert not paths.database_path(True).exists()  # nothing went to the SQLite demo file
    assert _count(server_url, "SELECT count(*) FROM accounts WHERE is_demo = 1") == 5
    messages = _count(server_url, "SELECT count(*) FROM messages")
    assert messages > 50
    # The inbox reads of the console's first screen, on the server.
    store = Store(server_url, SystemClock())
    try:
        ids = store.conversation_ids("all")
        rows = store.conversations_by_ids(ids[:20])
        assert len(ids) > 10 and all(rows[i].account_name.startswith("demo-") for i in ids[:20])
        assert store.waiting_summary()[0] > 0
        assert store.canned_storage().all()  # the starter canned replies, as a new SQLite workspace gets
    finally:
        store.close()
    # A second sync is idempotent per message: the demo connector's cursor was committed with its batch.
    assert cli.main(["--storage-url", server_url, "sync", "--once", "--demo"]) == 0
    assert _count(server_url, "SELECT count(*) FROM messages") >= messages
    assert _count(server_url, "SELECT count(*) FROM (SELECT account_id, external_id FROM messages"
                              " GROUP BY 1, 2 HAVING count(*) > 1) d") == 0


def test_demo_with_only_a_configured_storage_url_stays_in_its_sqlite_file(capsys, server_url, tmp_path):
    (tmp_path / "config.toml").write_text(f'[storage]\nurl = "{server_url}"\n')
    assert cli.main(["sync", "--once", "--demo"]) == 0
    assert paths.database_path(True).exists()
    assert _count(server_url, "SELECT count(*) FROM accounts") == 0  # the team's workspace is untouched
