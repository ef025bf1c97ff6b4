"""`agentconsole account add bluesky` and `account test` on the REAL local PDS, through the command line."""

from __future__ import annotations

from tests.connectors.bluesky_chat import chat_service  # noqa: F401  (fixture)
from tests.connectors.bluesky_pds import PDS_URL, PLC_URL, bluesky_pds, brand  # noqa: F401
from tests.core.test_cli_account import console, memory_keyring  # noqa: F401  (fixtures)


def test_add_and_test_a_bluesky_account(console, monkeypatch, memory_keyring, brand, chat_service) -> None:
    add = ["account", "add", "bluesky", "--handle", brand.handle, "--service", PDS_URL, "--plc", PLC_URL,
           "--chat-service", chat_service.did, "--app-password-stdin"]
    plain = brand.app_password(privileged=False)
    assert console(*add, "--name", "plain", stdin=plain + "\n", monkeypatch=monkeypatch) == 1
    assert "Allow access to your direct messages" in console.err and "--no-dms" in console.err
    assert console.ctx.store().accounts() == []

    assert console(*add, stdin=brand.app_password(privileged=True) + "\n", monkeypatch=monkeypatch) == 0, console.err
    assert f"added Bluesky account '{brand.handle}'" in console.out and "chat ok" in console.out
    [account] = console.ctx.store().accounts()
    assert account.settings["did"] == brand.did and account.settings["pds"] == PDS_URL
    assert "password" not in account.settings and memory_keyring.items[("agentconsole", brand.handle)]

    assert console("account", "test", brand.handle) == 0, console.err
    assert "posting ok; chat ok" in console.out and "Allow new messages from: Everyone" in console.out

    assert console(*add[:-1], "--name", "posts", "--no-dms", "--app-password-stdin", stdin=plain + "\n",
                   monkeypatch=monkeypatch) == 0, console.err
    assert console("account", "test", "posts") == 0 and "DMs off for this account" in console.out
