"""`agentconsole db check|backup|restore FILE|set-password|migrate-to URL`: look after the workspace database
and its backups, and move it to a server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
import getpass
import os
import sys
from pathlib import Path

from agentconsole import paths
from agentconsole.storage import backup, db

if TYPE_CHECKING:
    from agentconsole.cli import CliContext

PG_DUMP = ("the workspace is on a PostgreSQL server ({where}): back it up with the server's own tools, "
           "e.g. `pg_dump -Fc -f workspace.dump '{where}'` (and restore with pg_restore); agentconsole's "
           "own backups are copies of an SQLite file")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "db", help="check, back up or restore the database",
        description="Backups are made automatically once a day and before every upgrade of the "
                    "database; the newest 7 are kept in the data folder's backups/ (mode 0600). "
                    "A workspace on a PostgreSQL server is backed up with pg_dump instead.")
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="run SQLite's full integrity check (reads, never writes)")
    save = sub.add_parser("backup", help="write a backup now and print where it went")
    restore = sub.add_parser("restore", help="replace the database with a backup (quit the console first)")
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup, e.g. one `db check` lists")
    restore.add_argument("--force", action="store_true",
                         help="restore even while a console still runs on the database")
    for each in (check, save, restore):
        each.add_argument("--demo", action="store_true", help="the demo workspace's database")
    password = sub.add_parser(
        "set-password", help="keep the PostgreSQL server's password in the OS keyring",
        description="Reads the password (without echo, or from standard input when it is not a terminal) "
                    "and keeps it in the OS keyring for the storage URL ([storage] url or --storage-url).")
    password.add_argument("--url", metavar="URL", help="the server (default: the configured storage URL)")
    from agentconsole.cli import migrate_to

    migrate_to.register(sub)
    check.set_defaults(func=run_check)
    save.set_defaults(func=run_backup)
    restore.set_defaults(func=run_restore)
    password.set_defaults(func=run_set_password)


def storage_password(url: str) -> str | None:
    """The password for *url* from the OS keyring; None leaves it to libpq (PGPASSWORD, ~/.pgpass)."""
    from agentconsole.secrets import keyring_secret
    from agentconsole.storage.postgres.url import secret_key

    if os.environ.get("PGPASSWORD") or os.environ.get("PGPASSFILE"):
        return None  # the host's own choice for headless use wins over a keyring it may not have
    return keyring_secret(secret_key(url))


def _server(args: argparse.Namespace, ctx: CliContext) -> str:
    return "" if getattr(args, "demo", False) else (getattr(ctx, "storage_url", "") or "")


def _database(args: argparse.Namespace) -> Path:
    path = paths.database_path(args.demo)
    if not path.exists() and not path.is_dir():
        raise db.DatabaseProblem(f"there is no database at {path} yet; agentconsole creates it on "
                                 "first use")
    return path


def run_check(args: argparse.Namespace, ctx: CliContext) -> int:
    if _server(args, ctx):
        store = ctx.store(False)  # opening checks the schema version and that every table is there
        problems = store.check(full=True)
        if problems:
            raise db.DatabaseDamaged(store.damaged)
        print(f"{store.where}: schema {store.schema_version()}, every table present; the server checks its "
              "own pages (run pg_amcheck for a page-level check)", file=ctx.out)
        return 0
    path = _database(args)
    version = backup.verify(path)  # raises with what was found and what to do
    print(f"{path}: sound (schema {version}, SQLite integrity check passed)", file=ctx.out)
    _list_backups(path, ctx)
    return 0


def run_backup(args: argparse.Namespace, ctx: CliContext) -> int:
    if _server(args, ctx):
        from agentconsole.storage.postgres.url import without_password

        raise db.DatabaseProblem(PG_DUMP.format(where=without_password(ctx.storage_url)))
    path = _database(args)
    target = ctx.store(args.demo).backup("manual")
    print(f"backed up {path} to {target}", file=ctx.out)
    return 0


def run_restore(args: argparse.Namespace, ctx: CliContext) -> int:
    if _server(args, ctx):
        from agentconsole.storage.postgres.url import without_password

        raise db.DatabaseProblem(PG_DUMP.format(where=without_password(ctx.storage_url)))
    path = paths.database_path(args.demo)
    source = args.file.expanduser()
    kept = backup.restore(source, path, ctx.clock.now(), force=args.force)
    print(f"restored {path} from {source}", file=ctx.out)
    if kept is not None:
        print(f"what was there before is kept as {kept}", file=ctx.out)
    return 0


def run_set_password(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.secrets import store_secret
    from agentconsole.storage.postgres import is_url
    from agentconsole.storage.postgres.url import PasswordInUrl, refuse_password, secret_key, without_password

    url = args.url or ctx.storage_url
    if not url or not is_url(url):
        raise db.DatabaseProblem("no PostgreSQL storage URL: give --url postgresql://user@host:port/database, "
                                 "or set [storage] url in the config")
    try:
        refuse_password(url)
    except PasswordInUrl as exc:
        raise db.DatabaseProblem(str(exc)) from None
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {without_password(url)}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise db.DatabaseProblem("no password given; nothing stored")
    where = store_secret(secret_key(url), password)
    print(f"the password for {without_password(url)} is in the {where}", file=ctx.out)
    return 0


def _list_backups(path: Path, ctx: CliContext) -> None:
    found = backup.backups(path)
    if not found:
        print(f"no backups yet in {backup.backup_dir_for(path)}", file=ctx.out)
        return
    print(f"{len(found)} backup(s) in {backup.backup_dir_for(path)}, newest last:", file=ctx.out)
    for item in found:
        print(f"  {item.name}", file=ctx.out)
