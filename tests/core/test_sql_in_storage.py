"""The SQL lives in one package: no module outside agentconsole/storage runs a statement itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL_CALLS = {"execute", "executemany", "executescript"}
# Where SQL may still run, each with why. The list only shrinks: drop an entry once its package runs none.
ALLOWED = {
    "agentconsole/storage": "the storage package: every backend's SQL",
}


def sql_calls(path: Path) -> list[int]:
    """The lines of *path* that call .execute, .executemany or .executescript on anything."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS]


def test_no_module_outside_storage_runs_sql():
    found = []
    for package in ("agentconsole", "connectors", "screens", "themes"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(relative.startswith(prefix + "/") for prefix in ALLOWED):
                continue
            found.extend(f"{relative}:{line}" for line in sql_calls(path))
    assert found == [], "SQL outside agentconsole/storage (move it behind that area's storage interface):\n" + (
        "\n".join(found))


def test_the_check_sees_a_statement(tmp_path):
    # The scan would pass vacuously if it missed calls; it finds them however the connection is reached.
    sample = tmp_path / "sample.py"
    sample.write_text("def f(store, conn):\n    store.conn.execute('SELECT 1')\n    conn.executemany('X', [])\n"
                      "    g = conn.cursor()\n    g.executescript('Y')\n", "utf-8")
    assert sql_calls(sample) == [2, 3, 5]

