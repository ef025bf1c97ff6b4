"""Looking accounts up by name and removing them, with everything that belongs only to them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from agentconsole.domain.rows import AccountRow
from agentconsole.storage.store import Store


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """An email account as typed in by a person (CLI or set-up screen), before it is checked and
    saved. The password is never part of it: it travels separately and only to the secret store."""

    name: str
    address: str
    imap_host: str
    smtp_host: str
    username: str = ""
    imap_port: int = 993
    smtp_port: int = 587
    imap_tls: str = ""
    smtp_tls: str = ""
    display_name: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str = ""
    append_sent: bool = True
    tls_ca_file: str = ""
    allow_plain: bool = False
    password_command: str = ""
    quote: str = ""  # "below" quotes the customer's message under each reply

    def settings(self) -> dict:
        """The account row's settings: connection details only, never a password."""
        address = self.address.strip()
        settings: dict = {
            "address": address, "imap_host": self.imap_host.strip(), "imap_port": self.imap_port,
            "smtp_host": self.smtp_host.strip(), "smtp_port": self.smtp_port,
            "username": self.username.strip() or address,
            "folders": [f.strip() for f in self.folders if f.strip()] or ["INBOX"],
            "append_sent": self.append_sent,
        }
        optional = {"imap_tls": self.imap_tls, "smtp_tls": self.smtp_tls, "display_name": self.display_name,
                    "sent_folder": self.sent_folder, "tls_ca_file": self.tls_ca_file,
                    "allow_plain": self.allow_plain, "password_command": self.password_command.strip(),
                    "quote": self.quote}
        settings.update({k: v for k, v in optional.items() if v})
        return settings


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
