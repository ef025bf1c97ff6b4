"""`agentconsole account ...`: adding, listing, testing and removing accounts; secrets never stored plainly."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from agentconsole import secrets
from agentconsole.cli import CliContext
from agentconsole.cli.account import register
from agentconsole.domain.clock import FrozenClock
from agentconsole.config import Config
from agentconsole.domain.models import Direction, InboundMessage, Kind, Person

from tests.connectors.mailservers import CA_FILE, HOST, IMAP_PORT, SUBMISSION_PORT, SUPPORT, mail_servers  # noqa: F401

T0 = 1_764_061_200.0
EMAIL = ["account", "add", "email", "--name", "support", "--address", "support@shop.example",
         "--imap-host", "imap.shop.example", "--smtp-host", "smtp.shop.example"]


class MemoryKeyring(KeyringBackend):
    """A real (in-memory) keyring backend, standing in for a desktop Secret Service."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


class Console:
    def __init__(self) -> None:
        self.ctx = CliContext(Config(), FrozenClock(T0), io.StringIO(), io.StringIO())
        parser = argparse.ArgumentParser(prog="agentconsole")
        register(parser.add_subparsers(dest="command"))
        self.parser = parser

    def __call__(self, *argv: str, stdin: str | None = None, monkeypatch=None) -> int:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.ctx.out.seek(0), self.ctx.out.truncate()
        self.ctx.err.seek(0), self.ctx.err.truncate()
        args = self.parser.parse_args(list(argv))
        return args.func(args, self.ctx)

    @property
    def out(self) -> str:
        return self.ctx.out.getvalue()

    @property
    def err(self) -> str:
        return self.ctx.err.getvalue()


@pytest.fixture
def console():
    made = Console()
    yield made
    made.ctx.close()


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def database_bytes(console: Console) -> bytes:
    path = Path(console.ctx.store().path)
    console.ctx.store().conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_headless_host_without_keyring_refuses_and_names_the_options(console, monkeypatch) -> None:
    assert console(*EMAIL, "--password-stdin", stdin="hunter2\n", monkeypatch=monkeypatch) == 1
    assert "password_command" in console.err and secrets.env_var_name("support") in console.err
    assert console.ctx.store().accounts() == []


def test_password_goes_to_a_real_keyring_never_to_the_database(console, monkeypatch, memory_keyring) -> None:
    assert console(*EMAIL, "--password-stdin", stdin="hunter2-very-secret\n", monkeypatch=monkeypatch) == 0
    assert memory_keyring.items[("agentconsole", "support")] == "hunter2-very-secret"
    assert "OS keyring" in console.out
    assert b"hunter2-very-secret" not in database_bytes(console)
    account = console.ctx.store().accounts()[0]
    assert (account.name, account.channel, account.connector, account.handle) == (
        "support", "email", "email", "support@shop.example")
    assert account.settings["imap_port"] == 993 and account.settings["smtp_port"] == 587
    assert "password" not in account.settings
    assert secrets.load_secret("support", account.settings, environ={}) == "hunter2-very-secret"

    assert console("account", "remove", "support") == 0
    assert memory_keyring.items == {}


def test_password_command_is_kept_and_checked(console) -> None:
    assert console(*EMAIL, "--password-command", "echo from-the-command", "--quote", "below") == 0
    settings = console.ctx.store().accounts()[0].settings
    assert settings["quote"] == "below"
    assert settings["password_command"] == "echo from-the-command"
    assert secrets.load_secret("support", settings, environ={}) == "from-the-command"
    assert console(*[a if a != "support" else "other" for a in EMAIL], "--password-command", "false") == 1
    assert "exited with 1" in console.err


def test_environment_variable_when_nothing_else(console, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no prompt possible
    assert console(*EMAIL) == 1
    assert "--password-stdin" in console.err and "--password-command" in console.err
    monkeypatch.setenv(secrets.env_var_name("support"), "from-env")
    assert console(*EMAIL) == 0
    assert "$AGENTCONSOLE_SECRET_SUPPORT" in console.out
    assert console("account", "list") == 0
    assert "support\temail\tsupport@shop.example via imap.shop.example" in console.out
    assert "secret: $AGENTCONSOLE_SECRET_SUPPORT" in console.out


def test_bad_settings_are_a_usage_error(console) -> None:
    assert console(*EMAIL, "--imap-tls", "plain", "--password-command", "echo x") == 2
    assert "only allowed for localhost" in console.err
    assert console(*EMAIL, "--password-command", "echo x") == 0
    assert console(*EMAIL, "--password-command", "echo x") == 1
    assert "exists" in console.err


def test_remove_keeps_conversations_unless_asked(console, monkeypatch) -> None:
    monkeypatch.setenv(secrets.env_var_name("support"), "x")
    assert console(*EMAIL) == 0
    store = console.ctx.store()
    support = store.accounts()[0].id
    other = store.ensure_account("other", "email", "email", handle="other@shop.example")
    for account, key in ((support, "<a@x>"), (other, "<b@x>")):
        store.ingest(account, [InboundMessage(key, key, Kind.EMAIL, Person("dana@x.example"),
                                              "parcel never arrived", T0, Direction.IN)], "c")
    assert console("account", "remove", "support") == 1
    assert "1 conversation(s)" in console.err and "--delete-messages" in console.err
    assert console("account", "remove", "support", "--delete-messages") == 0
    assert [a.name for a in store.accounts()] == ["other"]
    assert [h.conversation_id for h in store.search("parcel")] == [
        store.conn.execute("SELECT id FROM conversations WHERE account_id = ?", (other,)).fetchone()[0]]
    assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert console("account", "remove", "support") == 1
    assert "no account named 'support'" in console.err


@pytest.mark.servers
def test_account_test_logs_in_both_ways_and_says_what_failed(console, monkeypatch, mail_servers) -> None:
    args = ["account", "add", "email", "--name", "local", "--address", SUPPORT[0], "--imap-host", HOST,
            "--imap-port", str(IMAP_PORT), "--smtp-host", HOST, "--smtp-port", str(SUBMISSION_PORT),
            "--tls-ca-file", str(CA_FILE)]
    monkeypatch.setenv(secrets.env_var_name("local"), SUPPORT[1])
    assert console(*args) == 0
    assert console("account", "test", "local") == 0, console.err
    assert "IMAP 127.0.0.1:1143 (STARTTLS): login ok" in console.out and "SMTP" in console.out

    monkeypatch.setenv(secrets.env_var_name("local"), "wrong")
    assert console("account", "test", "local") == 1
    assert "local: FAILED (sign-in): IMAP 127.0.0.1:1143" in console.err
    assert "wrong user name or password" in console.err

    monkeypatch.delenv(secrets.env_var_name("local"))
    assert console("account", "test", "local") == 1
    assert "FAILED (sign-in)" in console.err and "password_command" in console.err


@pytest.mark.parametrize(("change", "error"), [
    (["--imap-port", "70000"], "agentconsole: --imap-port: 70000 is not a port (1–65535)"),
    (["--smtp-port", "0"], "agentconsole: --smtp-port: 0 is not a port (1–65535)"),
    (["--imap-port", "imap"], "agentconsole: --imap-port: 'imap' is not a whole number"),
    (["--imap-host", "imap shop"], "agentconsole: --imap-host: 'imap shop' is not a host name"),
    (["--smtp-host=-smtp.example"], "agentconsole: --smtp-host: '-smtp.example' is not a host name"),
    (["--address", "support.shop.example"],
     "agentconsole: --address: 'support.shop.example' is not an email address"),
    (["--imap-tls", "ssl"], "agentconsole: --imap-tls: 'ssl' is not one of implicit, starttls, plain"),
    (["--tls-ca-file", "/nonexistent/ca.pem"], "agentconsole: --tls-ca-file: no such file '/nonexistent/ca.pem'"),
])
def test_options_are_refused_at_add_in_one_line_naming_the_option(console, change, error) -> None:
    assert console(*EMAIL, *change, "--password-command", "echo x") == 2
    assert console.err == error + "\n"
    assert console.ctx.store().accounts() == []


def test_a_missing_required_option_is_named(console) -> None:
    args = [a for a in EMAIL if a not in ("--smtp-host", "smtp.shop.example")]
    assert console(*args, "--password-command", "echo x") == 2
    assert console.err.startswith("agentconsole: --smtp-host is required")


def test_validated_options_are_stored_typed_and_never_checked_again(console, monkeypatch) -> None:
    assert console(*EMAIL, "--imap-port", "143", "--folders", "INBOX, Support", "--no-append-sent",
                   "--password-command", "echo x") == 0
    settings = console.ctx.store().accounts()[0].settings
    assert (settings["imap_port"], settings["folders"], settings["append_sent"]) == (143, ["INBOX", "Support"],
                                                                                   False)


def test_account_add_offers_every_installed_plug_in_with_a_set_up(console) -> None:
    from agentconsole.channels import registry

    actions = next(a for a in console.parser._subparsers._group_actions).choices["account"]
    add = next(a for a in actions._subparsers._group_actions).choices["add"]
    kinds = next(a for a in add._subparsers._group_actions).choices
    assert set(kinds) == {p.name for p in registry.with_setup()} >= {"email", "mastodon"}
    assert "demo" not in kinds
    assert "--no-append-sent" in kinds["email"].format_help() and "--token-command" in kinds["mastodon"].format_help()


# A channel that exists only here: it reaches the CLI, the limits and the capabilities through its
# declaration and one entry point, with no other change anywhere.
class _FakeSetup:
    from agentconsole.channels.plugin import SecretSpec

    secret = SecretSpec("token", "Token", "an app password")
    name_required = True

    def validate(self, values) -> None:
        return None

    async def obtain_secret(self, values, io):
        return None

    async def complete(self, name, values, secret, clock):
        from agentconsole.channels.plugin import AccountDraft

        return AccountDraft(name, f"@{name}.{values['host']}", name, {"host": values["host"],
                                                                       "port": values["port"]}, "fake")

    async def check(self, name, values, secret, clock) -> str:
        return "fine"


def _fake_plugin():
    from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, TextRule
    from agentconsole.domain.models import Capabilities, Channel

    return ChannelPlugin(
        name="fakesky", channels=(Channel.BLUESKY,), title="Fakesky", summary="a channel of the tests",
        options=(Option("host", "Host", "the server", OptionType.HOST, required=True),
                 Option("port", "Port", "its port", OptionType.PORT, default=443)),
        build=lambda account, clock: None,
        capabilities=lambda account: Capabilities(public_post=True, max_length=int(account.settings["port"])),
        text={Channel.BLUESKY: TextRule({None: 7}, lambda text: 2 * len(text), "halves")}, setup=_FakeSetup())


FAKESKY = _fake_plugin()


@pytest.fixture
def fakesky(monkeypatch):
    from importlib.metadata import EntryPoint

    from agentconsole.channels import registry

    # A channel without a plug-in of its own: the real Bluesky one is left out.
    entries = {**{k: v for k, v in registry._entries().items() if k != "bluesky"},
               "fakesky": EntryPoint("fakesky", "tests.core.test_cli_account:FAKESKY", registry.GROUP)}
    registry.reset()
    monkeypatch.setattr(registry, "_entries", lambda: entries)
    yield
    monkeypatch.undo()
    registry.reset()


def test_a_new_channel_is_one_declaration_and_one_entry_point(fakesky, monkeypatch) -> None:
    from agentconsole.channels import registry
    from agentconsole.replies.lengths import measure

    console = Console()  # built after the entry point exists, as a fresh process would be
    try:
        assert console("account", "add", "fakesky", "--name", "f", "--host", "sky.example", "--port", "70000",
                       "--token-command", "echo t") == 2
        assert console.err == "agentconsole: --port: 70000 is not a port (1–65535)\n"
        assert console("account", "add", "fakesky", "--name", "f", "--host", "sky.example", "--port", "280",
                       "--token-command", "echo t") == 0
        account = console.ctx.store().accounts()[0]
        assert (account.channel, account.connector, account.settings["port"]) == ("bluesky", "fakesky", 280)
        assert registry.capabilities(account).max_length == 280
        length = measure("abcd", "bluesky")  # its own rule now wins over the demo's simulated one
        assert (length.used, length.limit, length.unit) == (8, 7, "halves")
        assert console("account", "list") == 0 and "f\tbluesky\t@f.sky.example" in console.out
    finally:
        console.ctx.close()
