"""No source file is over 500 lines (issue 19, STYLE.md): a file that grows past it is split by what it holds."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agentconsole", "connectors", "screens", "themes", "benchmarks", "tests")
LIMIT = 500


def test_no_python_file_is_over_500_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    assert len(sizes) > 100  # the tree was found
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
