"""The email account set-up dialog, driven by Pilot: test the login, save, and show failures inertly."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, Static

from agentconsole import secrets
from agentconsole.cli.account_email import check_email_account, save_email_account
from agentconsole.domain.clock import FrozenClock
from agentconsole.storage.store import Store
from screens.accounts.setup import AccountSetupModal

from tests.connectors.mailservers import CA_FILE, HOST, IMAP_PORT, SUBMISSION_PORT, SUPPORT, mail_servers  # noqa: F401


class Host(App):
    def __init__(self, modal: AccountSetupModal) -> None:
        super().__init__()
        self.modal = modal
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


@pytest.fixture
def store(tmp_path):
    made = Store(tmp_path / "db.sqlite", FrozenClock())
    yield made
    made.close()


def modal_for(store: Store, **draft_changes) -> AccountSetupModal:
    from dataclasses import replace

    return AccountSetupModal(
        save=lambda draft, password: save_email_account(store, replace(draft, **draft_changes), password),
        test=lambda draft, password: check_email_account(replace(draft, **draft_changes), password,
                                                         FrozenClock()))


async def fill(pilot, **values: str) -> None:
    for key, value in values.items():
        pilot.app.screen.query_one(f"#setup-{key.replace('_', '-')}", Input).value = value
    await pilot.pause()


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def status(pilot) -> str:
    return str(pilot.app.screen.query_one("#setup-status", Static).render())


async def test_save_with_a_password_command_adds_the_account(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="support", address="support@shop.example", imap_host="imap.shop.example",
                   smtp_host="smtp.shop.example", command="echo s3cret")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.results == ["support"]
    account = store.accounts()[0]
    assert (account.name, account.handle, account.settings["imap_port"]) == (
        "support", "support@shop.example", 993)
    assert account.settings["password_command"] == "echo s3cret"


async def test_a_password_without_keyring_is_refused_and_the_dialog_stays(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="support", address="support@shop.example", imap_host="imap.shop.example",
                   smtp_host="smtp.shop.example", password="hunter2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.results == []
        text = status(pilot)
        assert "not saved" in text and secrets.env_var_name("support") in text
        assert "hunter2" not in text
    assert store.accounts() == []


async def test_untrusted_text_in_errors_is_shown_inert(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="x", address="\x1b[31mevil", imap_host="h", smtp_host="h", command="echo x")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "\x1b" not in status(pilot) and "not saved" in status(pilot)


@pytest.mark.servers
async def test_test_login_reports_success_and_the_failed_step(store, mail_servers) -> None:
    app = Host(modal_for(store, tls_ca_file=str(CA_FILE)))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="local", address=SUPPORT[0], imap_host=HOST, imap_port=str(IMAP_PORT),
                   smtp_host=HOST, smtp_port=str(SUBMISSION_PORT), password=SUPPORT[1])
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "ok: IMAP 127.0.0.1:1143 (STARTTLS): login ok" in status(pilot)
        await fill(pilot, password="wrong")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "failed: IMAP 127.0.0.1:1143" in status(pilot) and "wrong user name or password" in status(pilot)
        assert app.results == [] and store.accounts() == []
