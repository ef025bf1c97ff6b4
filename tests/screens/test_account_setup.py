"""The account set-up dialog, driven by Pilot: the plug-in's options as a form, test the login, save, and
show failures inertly."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, Static

from agentconsole import secrets
from agentconsole.cli import _account_setup
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


def modal_for(store: Store, **extra) -> AccountSetupModal:
    """The dialog wired as the console wires it; *extra* adds options the form does not show."""
    from dataclasses import replace

    save, test = _account_setup(store, FrozenClock())
    return AccountSetupModal(save=lambda form: save(replace(form, raw={**form.raw, **extra})),
                             test=lambda form: test(replace(form, raw={**form.raw, **extra})))


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
        assert app.results == ["saved 'support'; password: from the command 'echo s3cret'."]
    account = store.accounts()[0]
    assert (account.name, account.handle, account.settings["imap_port"]) == (
        "support", "support@shop.example", 993)
    assert account.settings["password_command"] == "echo s3cret"


async def test_a_password_without_keyring_is_refused_and_the_dialog_stays(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="support", address="support@shop.example", imap_host="imap.shop.example",
                   smtp_host="smtp.shop.example", secret="hunter2")
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
                   smtp_host=HOST, smtp_port=str(SUBMISSION_PORT), secret=SUPPORT[1])
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "ok: IMAP 127.0.0.1:1143 (STARTTLS): login ok" in status(pilot)
        await fill(pilot, secret="wrong")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "failed: IMAP 127.0.0.1:1143" in status(pilot) and "wrong user name or password" in status(pilot)
        assert app.results == [] and store.accounts() == []


async def test_a_bad_port_is_refused_naming_the_option(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await fill(pilot, name="support", address="support@shop.example", imap_host="imap.shop.example",
                   imap_port="70000", smtp_host="smtp.shop.example", command="echo s3cret")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "not saved: --imap-port: 70000 is not a port (1–65535)" in status(pilot)
        assert app.results == []
    assert store.accounts() == []


async def test_switching_the_channel_renders_that_plug_ins_options(store) -> None:
    app = Host(modal_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert screen.query("#setup-imap-host") and not screen.query("#setup-instance")
        screen.query_one("#setup-kind").value = "mastodon"
        await pilot.pause()
        await pilot.pause()
        assert screen.query("#setup-instance") and not screen.query("#setup-imap-host")
        assert "New Mastodon account" in str(screen.query_one("#setup-title").render())
        await fill(pilot, instance="ftp://mastodon.example", secret="tok")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "not saved: --instance: 'ftp://mastodon.example' is not an http(s) address" in status(pilot)
