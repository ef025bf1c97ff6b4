"""The keys the README promises (DESIGN §5's table, as the README shows it) are all bound in the console."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screens.common.keys import catalogue
from tests.screens.helpers import settle

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 36)
# How the tables spell a key, against Textual's key names.
NAMES = {"esc": "escape", "\\": "backslash", "/": "slash", ":": "colon", "?": "question_mark",
         "F1": "f1", "arrows": "up down", "tab": "tab", "!": "exclamation_mark"}


def table_keys(markdown: str, heading: str) -> set[str]:
    """Every key in the key table under *heading* (its left cells of each pair), in Textual's names."""
    section = markdown.split(heading, 1)[1]
    table = next(block for block in section.split("\n\n") if block.lstrip().startswith("|"))
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]
    keys: set[str] = set()
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for cell in cells[0::2]:
            cell = cell.replace("`/shortcut` ", "")  # typed text, then tab: the tab is the key
            if "arrows" in cell:
                keys.update(("up", "down"))
            for token in re.findall(r"`([^`]+)`", cell.replace("`/`", "`slash`")):
                for key in token.split("/") if token not in ("/",) else [token]:
                    keys.add(key)
            for start, end in re.findall(r"`(\d)`–`(\d)`", cell):
                keys.update(str(i) for i in range(int(start), int(end) + 1))
    return {NAMES.get(k, k) for k in keys if k} - {"1–9"}


def bound_keys(screen) -> set[str]:
    """Every key some node of *screen* binds to one of our verbs (a binding with an id)."""
    nodes = {id(entry.node): entry.node for entry in catalogue(screen)}
    keys: set[str] = set()
    for node in nodes.values():
        for key, bindings in node._bindings.key_to_bindings.items():
            if any(b.id for b in bindings):
                keys.add(key)
    return keys


def test_the_readme_table_parses_into_the_keys_it_shows():
    keys = table_keys((ROOT / "README.md").read_text(), "## Keys")
    assert {"j", "k", "up", "down", "g", "G", "enter", "escape", "r", "R", "slash", "backslash", "question_mark",
            "f1", "colon", "ctrl+p", "space", "D", "1", "9", "tab"} <= keys


async def test_every_key_the_readme_promises_is_bound(seeded):
    promised = table_keys((ROOT / "README.md").read_text(), "## Keys")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "r")  # the composer's own keys (ctrl+s, ctrl+t, ctrl+r, tab) too
        await settle(app, pilot)
        # Keys the tables name inside an action's words ("`ctrl+r` send and mark done", "`n`/`N`").
        missing = (promised | {"ctrl+r", "n", "N"}) - bound_keys(app.screen)
    assert not missing, f"keys in the README's table that nothing binds: {sorted(missing)}"


def test_the_readme_shows_every_key_of_design_section_5():
    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip("the design document is not beside this checkout")
    missing = table_keys(design.read_text(), "## 5. Keys") - table_keys((ROOT / "README.md").read_text(), "## Keys")
    assert not missing, f"DESIGN §5 keys the README's table does not show: {sorted(missing)}"
