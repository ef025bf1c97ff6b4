"""The email account set-up dialog: fill in the servers, test the login, save with the password kept safe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from agentconsole.accounts import EmailDraft
from agentconsole.domain.sanitize import clean

# (input id, label, placeholder, is a password)
FIELDS = (
    ("setup-name", "Name", "support", False),
    ("setup-address", "Address", "support@shop.example", False),
    ("setup-imap-host", "IMAP host", "imap.shop.example", False),
    ("setup-imap-port", "IMAP port", "993 (TLS) or 143 (STARTTLS)", False),
    ("setup-smtp-host", "SMTP host", "smtp.shop.example", False),
    ("setup-smtp-port", "SMTP port", "587 (STARTTLS) or 465 (TLS)", False),
    ("setup-username", "User name", "empty = the address", False),
    ("setup-password", "Password", "kept in the OS keyring", True),
    ("setup-command", "or command", "e.g. pass show shop/imap (for hosts without a keyring)", False),
)

SaveFn = Callable[[EmailDraft, str | None], str]
TestFn = Callable[[EmailDraft, str | None], Awaitable[str]]


class AccountSetupModal(ModalScreen[str | None]):
    """Collects an email account. *test* logs in with the draft (nothing saved); *save* checks it,
    stores the password where it belongs and adds the account, returning where the password went.
    Both raise with a message for the person; the dialog shows it and stays open."""

    CSS_PATH = "account_setup.tcss"
    BINDINGS = [
        Binding("ctrl+t", "test", "Test login", id="account_setup.test",
                tooltip="Log in over IMAP and SMTP with these settings; nothing is saved"),
        Binding("ctrl+s", "save", "Save", id="account_setup.save", tooltip="Check and save this account"),
        Binding("escape", "cancel", "Cancel", id="account_setup.cancel", tooltip="Close without saving"),
    ]

    class Reported(Message):
        """A test or save finished; *ok* says whether it worked."""

        def __init__(self, text: str, ok: bool, saved: bool = False) -> None:
            super().__init__()
            self.text = text
            self.ok = ok
            self.saved = saved

    def __init__(self, save: SaveFn, test: TestFn) -> None:
        super().__init__()
        self._save = save
        self._test = test

    def compose(self) -> ComposeResult:
        with Vertical(id="account-setup", classes="dialog"):
            yield Label(Text("New email account"), classes="dialog-title")
            for input_id, label, placeholder, secret in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(placeholder=placeholder, id=input_id, password=secret, compact=True,
                                type="integer" if input_id.endswith("port") else "text")
            yield Static("", id="setup-status")
            yield Static(Text("ctrl+t test login · ctrl+s save · esc cancel"), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#setup-name", Input).focus()

    def _value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}", Input).value.strip()

    def _draft(self) -> EmailDraft:
        def port(input_id: str, default: int) -> int:
            text = self._value(input_id)
            return int(text) if text.isdigit() else default

        return EmailDraft(name=self._value("setup-name"), address=self._value("setup-address"),
                          imap_host=self._value("setup-imap-host"), smtp_host=self._value("setup-smtp-host"),
                          username=self._value("setup-username"), imap_port=port("setup-imap-port", 993),
                          smtp_port=port("setup-smtp-port", 587),
                          password_command=self._value("setup-command"))

    def _password(self) -> str | None:
        return self.query_one("#setup-password", Input).value or None

    def _show(self, text: str, ok: bool | None = None) -> None:
        status = self.query_one("#setup-status", Static)
        status.set_class(ok is True, "ok")
        status.set_class(ok is False, "failed")
        status.update(Text(clean(text)))

    def action_test(self) -> None:
        self._show("testing the login…")
        self._run_test(self._draft(), self._password())

    @work(exclusive=True, exit_on_error=False, group="account-setup-test", description="Testing the account")
    async def _run_test(self, draft: EmailDraft, password: str | None) -> None:
        try:
            what = await self._test(draft, password)
        except Exception as exc:  # the message names the failed step; the dialog stays open
            self.post_message(self.Reported(f"failed: {exc}", ok=False))
            return
        self.post_message(self.Reported(f"ok: {what}", ok=True))

    def action_save(self) -> None:
        self._show("saving…")
        self._run_save(self._draft(), self._password())

    @work(thread=True, exclusive=True, exit_on_error=False, group="account-setup-save", description="Saving the account")
    def _run_save(self, draft: EmailDraft, password: str | None) -> None:
        try:
            where = self._save(draft, password)
        except Exception as exc:
            self.post_message(self.Reported(f"not saved: {exc}", ok=False))
            return
        self.post_message(self.Reported(f"saved {draft.name!r}; password: {where}", ok=True, saved=True))

    def on_account_setup_modal_reported(self, message: Reported) -> None:
        if message.saved:
            self.dismiss(self._value("setup-name"))
            return
        self._show(message.text, message.ok)

    def action_cancel(self) -> None:
        self.dismiss(None)
