"""Adding accounts through their channel plug-in, looking them up by name, and removing them with everything
that belongs only to them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from agentconsole import secrets
from agentconsole.channels.plugin import ChannelPlugin
from agentconsole.domain.clock import Clock
from agentconsole.domain.rows import AccountRow
from agentconsole.storage.store import Store


class SetupError(Exception):
    """The account cannot be saved as it is; the message says why and what to do."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def _secret_for(plugin: ChannelPlugin, name: str, secret: str | None, command: str) -> tuple[str, str]:
    """(the secret, where it comes from: "command", "env" or "given"); raises SetupError."""
    word = plugin.setup.secret.word if plugin.setup else "password"
    if command:
        try:
            return secrets.load_secret(name or plugin.name, {"password_command": command}), "command"
        except secrets.SecretUnavailable as exc:
            raise SetupError(str(exc)) from exc
    if secret:
        return secret, "given"
    if name and os.environ.get(secrets.env_var_name(name)):
        return os.environ[secrets.env_var_name(name)], "env"
    variable = secrets.env_var_name(name or plugin.name)
    raise SetupError(f"no {word} given: use --{word}-stdin, --{word}-command CMD, export {variable}, "
                     "or run interactively to be asked")


async def save_account(store: Store, plugin: ChannelPlugin, name: str, values: Mapping[str, Any],
                       secret: str | None, command: str, clock: Clock) -> tuple[str, str, str]:
    """Add an account of *plugin* from validated option *values*: the set-up flow completes it (it may
    log in to learn who it is), the secret goes where it belongs, and the row is saved. Returns (name,
    description, where the secret lives); raises SetupError or a connector error, saving nothing."""
    flow = plugin.setup
    if flow is None:
        raise SetupError(f"{plugin.name} accounts cannot be added", usage=True)
    name = name.strip()
    if flow.name_required and not name:
        raise SetupError("the account needs a name", usage=True)
    word = flow.secret.word
    if name and account_by_name(store, name) is not None:
        raise SetupError(f"an account named {name!r} exists; remove it first (agentconsole account remove {name})")
    secret, source = _secret_for(plugin, name, secret, command)
    draft = await flow.complete(name, values, secret, clock)
    if draft.name != name and account_by_name(store, draft.name) is not None:
        raise SetupError(f"an account named {draft.name!r} exists; remove it first "
                         f"(agentconsole account remove {draft.name})")
    settings = dict(draft.settings)
    if source == "command":
        settings["password_command"] = command
        where = f"from the command {command!r}"
    elif source == "env":
        where = f"from ${secrets.env_var_name(draft.name)}"
    else:
        try:
            where = secrets.store_secret(draft.name, secret)
        except secrets.SecretUnavailable as exc:
            raise SetupError(f"the {word} was not saved: {exc}. Re-run with --{word}-command CMD, or export "
                             f"{secrets.env_var_name(draft.name)} and use --{word}-stdin") from exc
    store.ensure_account(draft.name, plugin.channels[0], plugin.name, handle=draft.handle,
                         display_name=draft.display_name, settings=settings)
    return draft.name, draft.description, where


async def check_account(plugin: ChannelPlugin, name: str, values: Mapping[str, Any], secret: str | None,
                        command: str, clock: Clock) -> str:
    """Log in with these options before anything is saved; raises SetupError or the typed errors."""
    if plugin.setup is None:
        raise SetupError(f"{plugin.name} accounts cannot be added", usage=True)
    secret, _ = _secret_for(plugin, name.strip(), secret, command)
    return await plugin.setup.check(name.strip(), values, secret, clock)


class AccountInUse(Exception):
    """The account still has conversations; removing it would delete them."""

    def __init__(self, name: str, conversations: int) -> None:
        super().__init__(f"account {name!r} has {conversations} conversation(s)")
        self.conversations = conversations


def account_by_name(store: Store, name: str) -> AccountRow | None:
    return next((a for a in store.accounts() if a.name == name), None)


def remove_account(store: Store, name: str, *, delete_messages: bool = False) -> bool:
    """Delete the account *name*; False when there is none. An account with conversations is only
    removed with ``delete_messages``: then its conversations, messages (and their search index
    entries), notes, events and outbox items go too, and references from elsewhere (audit, links
    between conversations) are cleared. Contacts stay: they may be known on other accounts.
    """
    account = account_by_name(store, name)
    if account is None:
        return False
    storage = store.account_storage()
    count = storage.conversation_count(account.id)
    if count and not delete_messages:
        raise AccountInUse(name, count)
    storage.remove(account.id)
    return True
