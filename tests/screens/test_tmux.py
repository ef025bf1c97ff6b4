"""The console in a real tmux: rows as wide as Textual thinks with hostile characters, big messages fast."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from agentconsole.domain.clock import SystemClock
from agentconsole.domain.models import InboundMessage, Kind, Person
from agentconsole.storage.store import Store
from tests.screens.tmux_tools import Tmux

WIDTH = 120
BORDERS = re.compile("[│┃║╭╮╰╯┌┐└┘]")
# Text people really send that terminals measure differently (see tests/core/test_sanitize.py).
HOSTILE_WIDTHS = {
    "heart": "I \u2764\ufe0f it, \u263a\ufe0f and \u26a0\ufe0f",
    "skin": "ok \U0001f44d\U0001f3fd \U0001f44b\U0001f3ff",
    "keycap": "press 1\ufe0f\u20e3 or #\ufe0f\u20e3 now",
    "family": "fam \U0001f468\u200d\U0001f469\u200d\U0001f467 and \U0001f9d1\u200d\U0001f4bb",
    "zwj letters": "a\u200db\u200dc joined",
    "nonchar": "x\ufdd0y\uffffz\U0001fffe",
    "unassigned": "shaking \U0001fae8 face",
    "trigram": "\u2630\u2631 trigram \u3248",
    "filler": "\u3164\uffa0 blank name",
    # Spacing vowel signs (Unicode category Mc): one cell each in tmux, none in rich's own table.
    "indic": "नमस्ते किताब मिली தமிழ் ভাষা ไทย",
    # The documented Facebook reaction names with the emoji people see for them.
    "reaction": "LOVE \u2764\ufe0f HAHA \U0001f606 WOW \U0001f62e SAD \U0001f622 ANGRY \U0001f621 "
                "LIKE \U0001f44d\U0001f3fb CARE \U0001f917",
}
BIG = "\n".join(f"{i:05d} " + "a long pasted log line with some words in it" for i in range(21_000))[:1_048_576]


def seed(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "agentconsole.db", SystemClock())
    account = store.ensure_account("poison", "facebook", "none")
    now = store.clock.now()
    messages = [InboundMessage(f"w{i}", f"t{i}", Kind.PUBLIC,
                               Person(f"p{i}", f"@{name}\u2764\ufe0f", f"{name} \U0001f44d\U0001f3fd"),
                               (text + " ") * 4, now - 600 + i)
                for i, (name, text) in enumerate(HOSTILE_WIDTHS.items())]
    messages.append(InboundMessage("big", "t-big", Kind.PUBLIC, Person("pb", "@paster", "Big Paste"),
                                   BIG, now - 900))
    store.ingest(account, messages, "c")
    store.close()


@pytest.fixture
def console(tmp_path):
    tmux = Tmux()
    data = tmp_path / "data"
    seed(data)
    env = (f"AGENTCONSOLE_DATA_DIR={data} AGENTCONSOLE_CONFIG={tmp_path / 'none.toml'} TERM=xterm-256color"
           f" PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring TEXTUAL_ANIMATIONS=none"
           f" HOME={tmp_path} PATH={os.environ.get('PATH', '')}")
    tmux.start("app", f"env -i {env} {sys.executable} -m agentconsole", WIDTH, 36)
    tmux.wait_for("app", lambda s: "reaction" in s and "Conversations" in s)
    yield tmux
    tmux.close()


def border_columns(rows: list[str], tmux: Tmux) -> list[tuple[int, ...]]:
    """Per row, the columns tmux put its border characters in (measured by tmux, segment by segment)."""
    segments = {part for row in rows for part in BORDERS.split(row) if part}
    widths = tmux.widths(segments)
    out = []
    for row in rows:
        column, found = 0, []
        for piece in re.split(f"({BORDERS.pattern})", row):
            if not piece:
                continue
            if BORDERS.fullmatch(piece):
                found.append(column)
                column += 1
            else:
                column += widths[piece]
        out.append(tuple(found))
    return out


def test_every_row_keeps_its_borders_in_place_in_tmux(console):
    walked = []
    for step in range(len(HOSTILE_WIDTHS) + 1):
        console("send-keys", "-t", "app", "Enter" if step == 0 else "j")
        time.sleep(0.6)
        walked.append(console.screen("app"))
    box_rows = [row for screen in walked for row in screen[4:34]]
    assert any("\u2764" in row or "\U0001f44d" in row for row in box_rows)  # the hostile text is on screen
    columns = border_columns(box_rows, console)
    expected = max(set(columns), key=columns.count)
    assert expected and expected[-1] == WIDTH - 1
    broken = [(i, row) for i, (row, cols) in enumerate(zip(box_rows, columns)) if cols != expected]
    assert not broken, f"{len(broken)} of {len(box_rows)} rows moved: {broken[:3]}"


def test_a_1_mib_message_expands_and_pages_without_freezing_in_tmux(console):
    # The longest wait first: in urgency order an upset customer's row (triage) comes before Big Paste.
    console("send-keys", "-t", "app", "o")
    # The list's title changes at once and its rows when their read lands: a `g` in between moves to the
    # top of the old order, and the selection then follows that conversation to its new place.
    console.wait_for("app", lambda s: "longest wait first" in s and "Big Paste" in s.splitlines()[4])
    console("send-keys", "-t", "app", "g")
    console.wait_for("app", lambda s: "Big Paste  @paster" in s)  # the pane follows the cursor to the top
    console("send-keys", "-t", "app", "Enter")
    console.wait_for("app", lambda s: "Big Paste  @paster" in s and "a long pasted log line with" in s)
    timings = []
    for expected in ("part 1 of", "part 2 of", "part 3 of"):
        start = time.perf_counter()
        console("send-keys", "-t", "app", "x")
        console.wait_for("app", lambda s, e=expected: e in s, timeout=10)
        timings.append(time.perf_counter() - start)
    # Keys pressed right behind each other are each handled: two more parts at once.
    start = time.perf_counter()
    console("send-keys", "-t", "app", "x", "x")
    console.wait_for("app", lambda s: "part 5 of" in s, timeout=10)
    timings.append(time.perf_counter() - start)
    print("tmux expand timings (s):", [round(t, 3) for t in timings])
    # Each step includes tmux polling; typically ~0.05–0.15 s. Laying out the whole 1 MiB in one widget
    # made every step take seconds, which the median catches; one step held up on a loaded machine
    # (2.8 s once in CI, the others 0.06 s) is not a freeze, hence the looser bound on the slowest.
    assert sorted(timings)[len(timings) // 2] < 1.0 and max(timings) < 5.0, timings
