"""`agentconsole db migrate-to URL`: copy the SQLite workspace to a PostgreSQL server and verify it."""

from __future__ import annotations

import argparse
from typing import Any

from agentconsole import paths

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
SCHEMES = ("postgresql://", "postgres://")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    move = sub.add_parser(
        "migrate-to", help="copy this workspace to a PostgreSQL server and verify the copy",
        description="Copies every table of the SQLite workspace (read-only: it is never changed) into the "
                    "server database in one transaction, then compares each table's row count and checksum "
                    "on both sides. Running it again over a finished copy only verifies it. The password "
                    "comes from the keyring, PGPASSWORD or ~/.pgpass, never from the config file.")
    move.add_argument("url", metavar="URL", nargs="?",
                      help="the server database, postgresql://user@host:port/dbname (default: --storage-url, "
                           "else config [storage] url)")
    move.add_argument("--demo", action="store_true", help="copy the demo workspace")
    move.add_argument("--replace", action="store_true",
                      help="empty a server database that holds another workspace and copy this one over it")
    move.set_defaults(func=run_migrate_to)


def run_migrate_to(args: argparse.Namespace, ctx: Any) -> int:
    from agentconsole.storage import transfer
    from agentconsole.storage import transfer_server as server

    from agentconsole.cli.db import storage_password
    from agentconsole.storage.postgres.url import PasswordInUrl, refuse_password

    args.url = args.url or getattr(ctx, "storage_url", "")
    if not args.url:
        print("agentconsole: error: name the server database: agentconsole db migrate-to "
              "postgresql://user@host:port/dbname (or set [storage] url)", file=ctx.err)
        return EXIT_USAGE
    if not args.url.startswith(SCHEMES):
        print(f"agentconsole: error: {args.url!r} is not a PostgreSQL URL; give one like "
              "postgresql://agentconsole@db.example:5432/helpdesk", file=ctx.err)
        return EXIT_USAGE
    try:
        refuse_password(args.url)
    except PasswordInUrl as exc:
        print(f"agentconsole: error: {exc}", file=ctx.err)
        return EXIT_USAGE
    source = paths.database_path(args.demo)
    shown = server.display_url(args.url)
    print(f"copying {source} (read-only) to {shown}", file=ctx.out)
    conn = server.connect_for_transfer(args.url, storage_password(args.url))
    try:
        report = transfer.migrate_to(source, conn, replace=args.replace, side=server.SIDE,
                                     progress=lambda text: print(f"  {text}…", file=ctx.err, flush=True))
    finally:
        conn.close()
    write_report(report, ctx.out)
    return EXIT_OK if report.verified else EXIT_ERROR


def write_report(report: Any, out: Any) -> None:
    """Each table's rows and checksum on both sides, what was adjusted, and the one-line outcome."""
    width = max([len(t.name) for t in report.tables] + [5])
    print(f"{'table':<{width}}  {'rows here':>10}  {'on server':>10}  {'copy s':>7}  checksum (sha256)", file=out)
    for t in report.tables:
        same = "same" if t.same else f"DIFFERS: server {t.target_sum[:12]}"
        print(f"{t.name:<{width}}  {t.source_rows:>10,}  {t.target_rows:>10,}  {t.seconds:>7.1f}  "
              f"{t.source_sum[:12]}  {same}", file=out)
        for reason, n in sorted(t.adjusted.reasons.items()):
            print(f"{'':<{width}}  {n:>10,} value(s) stored changed: {reason}", file=out)
    for name, why in report.not_copied.items():
        print(f"{name:<{width}}  not copied: {why}", file=out)
    if report.server_only:
        print("the server's own tables (not in the workspace): " + ", ".join(report.server_only), file=out)
    seconds = max(report.seconds, 1e-6)
    if report.outcome == "verified":
        print(f"the server database already holds this workspace: {len(report.tables)} tables, "
              f"{report.rows:,} rows, every count and checksum the same; nothing was copied "
              f"({seconds:.1f} s)", file=out)
    else:
        verb = "replaced what the server held and copied" if report.outcome == "replaced" else "copied"
        print(f"{verb} {report.copied:,} rows in {len(report.tables)} tables in {seconds:.1f} s "
              f"({report.copied / seconds:,.0f} rows/s); every count and checksum on the server is the "
              "same as here", file=out)
