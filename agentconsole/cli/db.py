"""`agentconsole db check|backup|restore FILE|migrate-to URL`: look after the database file and its backups."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentconsole import paths
from agentconsole.storage import backup, db


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db", help="check, back up or restore the database",
        description="Backups are made automatically once a day and before every upgrade of the "
                    "database; the newest 7 are kept in the data folder's backups/ (mode 0600).")
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="run SQLite's full integrity check (reads, never writes)")
    save = sub.add_parser("backup", help="write a backup now and print where it went")
    restore = sub.add_parser("restore", help="replace the database with a backup (quit the console first)")
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup, e.g. one `db check` lists")
    restore.add_argument("--force", action="store_true",
                         help="restore even while a console still runs on the database")
    for each in (check, save, restore):
        each.add_argument("--demo", action="store_true", help="the demo workspace's database")
    from agentconsole.cli import migrate_to

    migrate_to.register(sub)
    check.set_defaults(func=run_check)
    save.set_defaults(func=run_backup)
    restore.set_defaults(func=run_restore)


def _database(args: argparse.Namespace) -> Path:
    path = paths.database_path(args.demo)
    if not path.exists() and not path.is_dir():
        raise db.DatabaseProblem(f"there is no database at {path} yet; agentconsole creates it on "
                                 "first use")
    return path


def run_check(args: argparse.Namespace, ctx) -> int:
    path = _database(args)
    version = backup.verify(path)  # raises with what was found and what to do
    print(f"{path}: sound (schema {version}, SQLite integrity check passed)", file=ctx.out)
    _list_backups(path, ctx)
    return 0


def run_backup(args: argparse.Namespace, ctx) -> int:
    path = _database(args)
    target = ctx.store(args.demo).backup("manual")
    print(f"backed up {path} to {target}", file=ctx.out)
    return 0


def run_restore(args: argparse.Namespace, ctx) -> int:
    path = paths.database_path(args.demo)
    source = args.file.expanduser()
    kept = backup.restore(source, path, ctx.clock.now(), force=args.force)
    print(f"restored {path} from {source}", file=ctx.out)
    if kept is not None:
        print(f"what was there before is kept as {kept}", file=ctx.out)
    return 0


def _list_backups(path: Path, ctx) -> None:
    found = backup.backups(path)
    if not found:
        print(f"no backups yet in {backup.backup_dir_for(path)}", file=ctx.out)
        return
    print(f"{len(found)} backup(s) in {backup.backup_dir_for(path)}, newest last:", file=ctx.out)
    for item in found:
        print(f"  {item.name}", file=ctx.out)
