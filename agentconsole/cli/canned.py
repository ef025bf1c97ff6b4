"""The `agentconsole canned import|export|list|show|starters` commands."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from agentconsole.replies.canned import CannedError, CannedLibrary, ImportReport, dumps
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from agentconsole.cli import CliContext

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    canned = subparsers.add_parser("canned", help="canned replies: import, export, list")
    actions = canned.add_subparsers(dest="canned_command", required=True, metavar="ACTION")

    imp = actions.add_parser("import", help="add the canned replies of a TOML file")
    imp.add_argument("file", metavar="FILE", help="a TOML file as written by `canned export`")
    imp.add_argument("--overwrite", action="store_true",
                     help="replace replies whose shortcut is taken (default: keep yours, report it)")
    imp.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")

    exp = actions.add_parser("export", help="write every canned reply to a TOML file ('-' for stdout)")
    exp.add_argument("file", metavar="FILE")
    exp.add_argument("--force", action="store_true", help="replace FILE if it exists")

    actions.add_parser("list", help="list the canned replies")
    show = actions.add_parser("show", help="print one canned reply (its shortcut completes in the shell)")
    show.add_argument("shortcut", metavar="SHORTCUT", help="the reply's shortcut, with or without the /")
    actions.add_parser("starters", help="add the starter set (keeps replies you already have)")
    for action in actions.choices.values():
        action.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="the demo workspace")
        action.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from agentconsole.cli import use_demo  # the one rule for which workspace a command uses

    library = CannedLibrary(ctx.store(use_demo(args)))
    command = args.canned_command
    if command == "import":
        return _import(args, ctx, library)
    if command == "export":
        return _export(args, ctx, library)
    if command == "list":
        return _list(ctx, library)
    if command == "show":
        found = library.by_shortcut(args.shortcut.removeprefix("/").lower())
        if found is None:
            print(f"agentconsole: error: canned show: no canned reply /{args.shortcut.removeprefix('/')}; "
                  "`agentconsole canned list` lists them", file=ctx.err)
            return EXIT_ERROR
        print(f"/{found.shortcut} · {one_line(found.name, 60)}\n\n{found.body}", file=ctx.out)
        return EXIT_OK
    if command == "starters":
        report = library.install_starters()
        _print_report(report, ctx, dry_run=False)
        return EXIT_OK
    print(f"agentconsole: error: canned: unknown action {command!r}", file=ctx.err)
    return EXIT_USAGE


def _import(args: argparse.Namespace, ctx: CliContext, library: CannedLibrary) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"agentconsole: error: canned import: cannot read {args.file}: {exc}", file=ctx.err)
        return EXIT_ERROR
    try:
        report = library.import_toml(text, overwrite=args.overwrite, dry_run=args.dry_run)
    except CannedError as exc:
        print(f"agentconsole: error: canned import: {args.file}: {exc}", file=ctx.err)
        print("nothing was imported", file=ctx.err)
        return EXIT_ERROR
    _print_report(report, ctx, dry_run=args.dry_run)
    if report.conflicts:
        print(f"{len(report.conflicts)} conflict(s) kept as they are; import again with --overwrite "
              "to replace them", file=ctx.err)
        return EXIT_ERROR
    return EXIT_OK


def _print_report(report: ImportReport, ctx: CliContext, *, dry_run: bool) -> None:
    would = "would be " if dry_run else ""
    for label, shortcuts in (("added", report.added), ("replaced", report.replaced),
                             ("unchanged", report.unchanged)):
        if shortcuts:
            listed = ", ".join("/" + s for s in shortcuts)
            print(f"{len(shortcuts)} {would}{label}: {listed}", file=ctx.out)
    for c in report.conflicts:
        print(f"conflict /{c.shortcut}: yours is {one_line(c.existing_name, 60)!r}, the file's is "
              f"{one_line(c.incoming_name, 60)!r} ({', '.join(c.differs)} differ)", file=ctx.err)
    if not (report.added or report.replaced or report.unchanged or report.conflicts):
        print("the file holds no canned replies", file=ctx.out)


def _export(args: argparse.Namespace, ctx: CliContext, library: CannedLibrary) -> int:
    templates = library.all()
    text = dumps(t.draft for t in templates)
    if args.file == "-":
        ctx.out.write(text)
        return EXIT_OK
    target = Path(args.file)
    if target.exists() and not args.force:
        print(f"agentconsole: error: canned export: {target} exists; add --force to replace it", file=ctx.err)
        return EXIT_ERROR
    try:
        _write_atomically(target, text)
    except OSError as exc:
        print(f"agentconsole: error: canned export: cannot write {target}: {exc}", file=ctx.err)
        return EXIT_ERROR
    print(f"exported {len(templates)} canned replies to {target}", file=ctx.out)
    return EXIT_OK


def _write_atomically(target: Path, text: str) -> None:
    """A crash mid-write leaves the old file, never half a new one."""
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _list(ctx: CliContext, library: CannedLibrary) -> int:
    templates = library.all()
    if not templates:
        print("no canned replies yet: `agentconsole canned starters` adds a starter set", file=ctx.out)
        return EXIT_OK
    width = max(len(t.shortcut) for t in templates) + 1
    for t in templates:
        suits = "/".join(t.channels) or "any channel"
        if t.kinds:
            suits += " · " + "/".join(t.kinds)
        print(f"/{t.shortcut:<{width}} {one_line(t.name, 40):<40} {t.usage_count:>5} uses  {suits}",
              file=ctx.out)
    return EXIT_OK
