"""`agentconsole completion bash|zsh|fish`: a small script that asks agentconsole itself what completes, so
subcommands, options, account names and canned shortcuts are always the installed and stored ones."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from agentconsole import paths

log = logging.getLogger(__name__)

SHELLS = ("bash", "zsh", "fish")
FILES = "::files"  # the first line when the shell's own file completion should answer
EXIT_OK = 0

# Which positional or option (by the command it belongs to and its dest) takes which stored names.
NAMES = {
    ("account test", "name"): "accounts",
    ("account remove", "name"): "accounts",
    ("account listen", "name"): "accounts",
    ("shift settings", "account"): "accounts",
    ("shift start", "accounts"): "account-list",
    ("shift end", "accounts"): "account-list",
    ("canned show", "shortcut"): "canned",
}

BASH = r'''# agentconsole completion for bash: eval "$(agentconsole completion bash)" in ~/.bashrc
_agentconsole() {
    local IFS=$'\n' cur="${COMP_WORDS[COMP_CWORD]}"
    local -a found
    found=($(command agentconsole completion --words "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    if [[ "${found[0]}" == "::files" ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=("${found[@]}")
    fi
}
complete -F _agentconsole agentconsole
'''

ZSH = r'''#compdef agentconsole
# agentconsole completion for zsh: source <(agentconsole completion zsh) in ~/.zshrc (after compinit),
# or save it as _agentconsole in a folder of $fpath
_agentconsole() {
    local -a found
    found=("${(@f)$(command agentconsole completion --words "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ "${found[1]}" == "::files" ]]; then
        _files
    elif [[ -n "${found[1]}" ]]; then
        compadd -- "${found[@]}"
    fi
}
if [[ "${funcstack[1]}" == "_agentconsole" ]]; then
    _agentconsole "$@"
else
    compdef _agentconsole agentconsole
fi
'''

FISH = r'''# agentconsole completion for fish: agentconsole completion fish > ~/.config/fish/completions/agentconsole.fish
function __agentconsole_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    set -l found (command agentconsole completion --words $words "$cur" 2>/dev/null)
    if test "$found[1]" = "::files"
        __fish_complete_path "$cur"
    else
        printf '%s\n' $found
    end
end
complete -c agentconsole -f -a '(__agentconsole_complete)'
'''

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("completion", help="print the shell completion script (bash, zsh, fish)",
                                   description="Print a completion script; see the README for where it goes.")
    parser.add_argument("shell", nargs="?", choices=SHELLS, help="the shell")
    # What the scripts call on each tab: the words so far, the last one being completed.
    parser.add_argument("--words", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    if args.words is not None:
        from agentconsole.cli import build_parser

        try:
            found = candidates(build_parser(["--help"]), list(args.words))
        except Exception:  # a tab must never print a traceback into the command line
            log.warning("completion failed for %r", args.words, exc_info=True)
            found = []
        for word in found:
            print(word, file=ctx.out)
        return EXIT_OK
    if args.shell is None:
        print("agentconsole: error: completion: name the shell: bash, zsh or fish", file=ctx.err)
        return 2
    ctx.out.write(SCRIPTS[args.shell])
    return EXIT_OK


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def candidates(root: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """What may come next: *words* is the command line after the program's name, its last word the one
    being completed ("" for a new word)."""
    *done, current = words or [""]
    node = root
    path: list[str] = []
    seen = 0  # positionals of this command given so far
    takes_value: argparse.Action | None = None
    for word in done:
        if takes_value is not None:
            takes_value = None
            continue
        if word.startswith("-") and word != "-":
            action = node._option_string_actions.get(word.split("=", 1)[0])
            if action is not None and action.nargs != 0 and "=" not in word:
                takes_value = action
            continue
        sub = _subcommands(node)
        if sub is not None and seen == 0 and word in sub.choices:
            node, path, seen = sub.choices[word], [*path, word], 0
            continue
        seen += 1
    demo = "--demo" in done
    if takes_value is not None:
        return _values(takes_value, " ".join(path), current, demo)
    if current.startswith("-"):
        flags = [f for a in node._actions for f in a.option_strings if a.help != argparse.SUPPRESS]
        return sorted(f for f in dict.fromkeys(flags) if f.startswith(current))
    sub = _subcommands(node)
    if sub is not None and seen == 0:
        hidden = {name for name in sub.choices if name.startswith("_")}
        return [name for name in sub.choices if name.startswith(current) and name not in hidden]
    positionals = _positionals(node)
    if seen < len(positionals):
        return _values(positionals[seen], " ".join(path), current, demo)
    return []


def _values(action: argparse.Action, command: str, current: str, demo: bool) -> list[str]:
    if action.choices:
        return [str(c) for c in action.choices if str(c).startswith(current)]
    kind = NAMES.get((command, action.dest))
    if kind == "accounts":
        return [n for n in _stored("accounts", demo) if n.startswith(current)]
    if kind == "account-list":  # A,B: complete the part after the last comma
        head, _, last = current.rpartition(",")
        given = set(head.split(",")) if head else set()
        prefix = f"{head}," if head else ""
        return [prefix + n for n in _stored("accounts", demo) if n.startswith(last) and n not in given]
    if kind == "canned":
        return [s for s in _stored("canned", demo) if s.startswith(current.removeprefix("/"))]
    if action.dest == "file" or action.metavar == "FILE":
        return [FILES]
    return []


def _stored(what: str, demo: bool) -> list[str]:
    """Account names or canned shortcuts of the workspace the command would use; nothing is created."""
    from agentconsole.storage.store import Store

    path = paths.database_path(demo)
    if not demo and not path.exists():
        path = paths.database_path(True)
    if not path.exists():
        return []
    store = Store(path)
    try:
        if what == "accounts":
            return sorted(a.name for a in store.accounts())
        from agentconsole.replies.canned import CannedLibrary

        return sorted(c.shortcut for c in CannedLibrary(store).all())
    finally:
        store.close()
