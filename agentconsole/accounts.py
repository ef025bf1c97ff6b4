"""Adding accounts through their channel plug-in, looking them up by name, and removing them with everything
that belongs only to them."""

from __future__ import annotations

import os
from collections import defaultdict
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
    conn = store.conn
    count = conn.execute("SELECT count(*) FROM conversations WHERE account_id = ?", (account.id,)).fetchone()[0]
    if count and not delete_messages:
        raise AccountInUse(name, count)
    references = _references(conn)
    with store.transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed(tbl TEXT NOT NULL, id INTEGER NOT NULL,"
                     " PRIMARY KEY (tbl, id))")
        conn.execute("DELETE FROM temp.doomed")
        conn.execute("INSERT INTO temp.doomed VALUES ('accounts', ?)", (account.id,))
        # Rows whose NOT NULL reference points at a doomed row are doomed too, until nothing changes.
        size = 0
        while size != (size := conn.execute("SELECT count(*) FROM temp.doomed").fetchone()[0]):
            for parent, children in references.items():
                for child, column, required in children:
                    if required:
                        conn.execute(
                            f"INSERT OR IGNORE INTO temp.doomed SELECT ?, rowid FROM \"{child}\""
                            f" WHERE \"{column}\" IN (SELECT id FROM temp.doomed WHERE tbl = ?)",
                            (child, parent))
        for parent, children in references.items():
            for child, column, required in children:
                if not required:
                    conn.execute(f"UPDATE \"{child}\" SET \"{column}\" = NULL"
                                 f" WHERE \"{column}\" IN (SELECT id FROM temp.doomed WHERE tbl = ?)", (parent,))
        # The search index is external-content: its entries must be deleted with the same values.
        conn.execute(
            "INSERT INTO messages_fts(messages_fts, rowid, text, subject, author_name)"
            " SELECT 'delete', id, text, subject, author_name FROM messages"
            " WHERE id IN (SELECT id FROM temp.doomed WHERE tbl = 'messages')")
        for (table,) in conn.execute("SELECT DISTINCT tbl FROM temp.doomed").fetchall():
            conn.execute(f"DELETE FROM \"{table}\" WHERE rowid IN (SELECT id FROM temp.doomed WHERE tbl = ?)",
                         (table,))
        conn.execute("DELETE FROM temp.doomed")
    return True


def _references(conn) -> dict[str, list[tuple[str, str, bool]]]:
    """Every foreign key in the schema: referenced table -> [(table, column, NOT NULL)]."""
    found: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
    for table in tables:
        required = {c[1]: bool(c[3]) or bool(c[5]) for c in conn.execute(f"PRAGMA table_info(\"{table}\")")}
        for fk in conn.execute(f"PRAGMA foreign_key_list(\"{table}\")"):
            found[fk[2]].append((table, fk[3], required.get(fk[3], False)))
    return dict(found)
