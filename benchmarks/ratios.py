"""Interleaved measurement against a floor: A B A B …, medians, the ratio and its verdict."""

from __future__ import annotations

import statistics
from collections.abc import Callable

PAIRS = 7


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def interleave(measure: Callable[[], float], floor: Callable[[], float], pairs: int = PAIRS) -> dict:
    """Run *measure* and *floor* alternately *pairs* times (the order flips each pair, so neither always
    runs second); the medians and their ratio, which holds on any machine and under shared load."""
    a: list[float] = []
    b: list[float] = []
    for i in range(pairs):
        if i % 2:
            b.append(floor())
            a.append(measure())
        else:
            a.append(measure())
            b.append(floor())
    ma, mb = statistics.median(a), statistics.median(b)
    return {"median": round(ma, 3), "floor": round(mb, 3), "ratio": round(ma / mb, 2) if mb else None,
            "runs": [round(x, 3) for x in a], "floor_runs": [round(x, 3) for x in b]}


def verdict(value: float | None, op: str, target: float) -> str:
    if value is None:
        return "not measured"
    return "ok" if (value <= target if op == "<=" else value >= target) else "over"
