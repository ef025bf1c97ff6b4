"""Editing a draft in the agent's own editor: which command ($VISUAL, $EDITOR, or config first) and one round trip."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentconsole.domain.sanitize import clean

log = logging.getLogger(__name__)

NO_EDITOR = ("no editor is set: put editor = \"vim\" in [ui] of the config file, or set $VISUAL or $EDITOR")


class EditorError(Exception):
    """The editor could not be run, or did not end well; the draft stays as it was."""


@dataclass(frozen=True)
class Edited:
    text: str
    changed: bool


def editor_command(configured: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The command to run, as a list: config `editor` first, then $VISUAL, then $EDITOR (as git and
    neomutt order them); each is split as a shell would ("code --wait" is two words)."""
    environ = os.environ if environ is None else environ
    for source, value in (("editor", configured), ("$VISUAL", environ.get("VISUAL", "")),
                          ("$EDITOR", environ.get("EDITOR", ""))):
        if value.strip():
            try:
                words = shlex.split(value)
            except ValueError as exc:
                raise EditorError(f"{source} is not a command line ({exc}): {value!r}") from exc
            if words:
                return words
    raise EditorError(NO_EDITOR)


Runner = Callable[[list[str]], int]


def run_in_terminal(command: list[str]) -> int:
    """Run the editor on the terminal it was handed; its exit status."""
    return subprocess.call(command)


def edit(text: str, command: list[str], run: Runner = run_in_terminal, *, suffix: str = ".txt") -> Edited:
    """Write *text* to a private temporary file, run *command* on it, and read it back.

    A missing command, a non-zero exit or an unreadable file raise EditorError: the caller keeps the
    draft. The result passes through the sanitiser (an editor can insert escapes) and loses the one
    final newline editors add.
    """
    with tempfile.TemporaryDirectory(prefix="agentconsole-") as folder:  # mode 0700
        path = Path(folder) / f"draft{suffix}"
        path.write_text(text + ("\n" if text and not text.endswith("\n") else ""), encoding="utf-8")
        path.chmod(0o600)
        try:
            status = run([*command, str(path)])
        except FileNotFoundError as exc:
            raise EditorError(f"the editor {command[0]!r} was not found; check editor in [ui], "
                              "$VISUAL or $EDITOR") from exc
        except OSError as exc:
            raise EditorError(f"the editor {command[0]!r} could not start: {exc.strerror or exc}") from exc
        if status != 0:
            raise EditorError(f"the editor {command[0]!r} ended with status {status}; the draft is unchanged")
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise EditorError("the editor removed the draft's file; the draft is unchanged") from exc
        except UnicodeDecodeError as exc:
            raise EditorError(f"the edited file is not UTF-8 (byte {exc.start}); the draft is unchanged") from exc
    result = clean(raw.replace("\r\n", "\n"))
    if result.endswith("\n"):
        result = result[:-1]
    log.info("edited a draft in %s (%d characters)", command[0], len(result))
    return Edited(result, result != text)
