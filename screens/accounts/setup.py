"""The account set-up dialog: a channel's own options rendered as a form, the login tested, the secret kept safe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from agentconsole.channels.plugin import ChannelPlugin, OptionType
from agentconsole.domain.sanitize import clean


@dataclass(frozen=True, slots=True)
class AccountForm:
    """What the person typed: the plug-in's name, the account name, each option as text, the secret."""

    kind: str
    name: str
    raw: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    command: str = ""


SaveFn = Callable[[AccountForm], Awaitable[str]]
TestFn = Callable[[AccountForm], Awaitable[str]]


def _input_id(option_name: str) -> str:
    return "setup-" + option_name.replace("_", "-")


class AccountSetupModal(ModalScreen[str | None]):
    """Collects an account of any channel whose plug-in has a set-up flow. *test* logs in with the form
    (nothing saved); *save* checks it, stores the secret where it belongs and adds the account,
    returning a line that says where the secret went. Both raise with a message for the person; the
    dialog shows it and stays open."""

    CSS_PATH = "account_setup.tcss"
    BINDINGS = [
        Binding("ctrl+t", "test", "Test login", id="account_setup.test",
                tooltip="Log in with these settings; nothing is saved"),
        Binding("ctrl+s", "save", "Save", id="account_setup.save", tooltip="Check and save this account"),
        Binding("escape", "cancel", "Cancel", id="account_setup.cancel", tooltip="Close without saving"),
    ]

    @dataclass
    class Reported(Message):
        """A test or save finished; *ok* says whether it worked."""

        text: str
        ok: bool
        saved: bool = False

    def __init__(self, save: SaveFn, test: TestFn, plugins: Sequence[ChannelPlugin] | None = None,
                 kind: str = "email") -> None:
        super().__init__()
        if plugins is None:
            from agentconsole.channels import registry

            plugins = registry.with_setup()
        self._plugins = {p.name: p for p in plugins if p.setup is not None}
        self._kind = kind if kind in self._plugins else next(iter(self._plugins))
        self._save = save
        self._test = test

    @property
    def plugin(self) -> ChannelPlugin:
        return self._plugins[self._kind]

    def compose(self) -> ComposeResult:
        with Vertical(id="account-setup", classes="dialog"):
            yield Label(Text(self._title()), id="setup-title", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Channel", classes="form-label")
                yield Select([(p.title, p.name) for p in self._plugins.values()], value=self._kind,
                             allow_blank=False, id="setup-kind", compact=True)
            with Vertical(id="setup-fields"):
                yield from self._rows()
            yield Static("", id="setup-status")
            yield Static(Text("ctrl+t test login · ctrl+s save · esc cancel"), classes="dialog-keys")

    def _title(self) -> str:
        return f"New {self.plugin.title} account"

    def _rows(self) -> list[Horizontal]:
        """One labelled input per option the plug-in shows on the form, then the name and the secret."""
        plugin = self.plugin
        secret = plugin.setup.secret
        name_hint = "support" if plugin.setup.name_required else "empty = the account's own handle"
        specs = [("setup-name", "Name", name_hint, False, "text")]
        for option in plugin.options:
            if option.form:
                kind = "integer" if option.type in (OptionType.PORT, OptionType.INT) else "text"
                specs.append((_input_id(option.name), option.label, option.placeholder or option.help, False,
                              kind))
        specs.append(("setup-secret", secret.label, secret.help, True, "text"))
        specs.append(("setup-command", "or command", "e.g. pass show shop/imap (for hosts without a keyring)",
                      False, "text"))
        return [Horizontal(Label(label, classes="form-label"),
                           Input(placeholder=placeholder, id=input_id, password=hidden, compact=True,
                                 type=kind),
                           classes="form-row")
                for input_id, label, placeholder, hidden, kind in specs]

    def on_mount(self) -> None:
        self.query_one("#setup-name", Input).focus()

    @on(Select.Changed, "#setup-kind")
    async def _kind_changed(self, event: Select.Changed) -> None:
        if event.value == self._kind or event.value not in self._plugins:
            return
        self._kind = str(event.value)
        fields = self.query_one("#setup-fields", Vertical)
        await fields.remove_children()
        await fields.mount_all(self._rows())
        self.query_one("#setup-title", Label).update(Text(self._title()))
        self._show("")

    def _value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}", Input).value.strip()

    def _form(self) -> AccountForm:
        raw = {o.name: self._value(_input_id(o.name)) for o in self.plugin.options if o.form}
        return AccountForm(kind=self._kind, name=self._value("setup-name"), raw=raw,
                           secret=self.query_one("#setup-secret", Input).value or None,
                           command=self._value("setup-command"))

    def _show(self, text: str, ok: bool | None = None) -> None:
        status = self.query_one("#setup-status", Static)
        status.set_class(ok is True, "ok")
        status.set_class(ok is False, "failed")
        status.update(Text(clean(text)))

    def action_test(self) -> None:
        self._show("testing the login…")
        self._run_test(self._form())

    @work(exclusive=True, exit_on_error=False, group="account-setup-test", description="test an account's login")
    async def _run_test(self, form: AccountForm) -> None:
        try:
            what = await self._test(form)
        except Exception as exc:  # the message names the failed step; the dialog stays open
            self.post_message(self.Reported(f"failed: {exc}", ok=False))
            return
        self.post_message(self.Reported(f"ok: {what}", ok=True))

    def action_save(self) -> None:
        self._show("saving…")
        self._run_save(self._form())

    @work(exclusive=True, exit_on_error=False, group="account-setup-save", description="save an account")
    async def _run_save(self, form: AccountForm) -> None:
        try:
            said = await self._save(form)
        except Exception as exc:
            self.post_message(self.Reported(f"not saved: {exc}", ok=False))
            return
        self.post_message(self.Reported(said, ok=True, saved=True))

    def on_account_setup_modal_reported(self, message: Reported) -> None:
        if message.saved:
            self.dismiss(message.text)
            return
        self._show(message.text, message.ok)

    def action_cancel(self) -> None:
        self.dismiss(None)
