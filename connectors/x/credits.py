"""What an X account spends, at X's pay-per-use prices (configurable), counted per UTC day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.x.text import has_url

# USD, X's pay-per-use price list (docs.x.com x-api/getting-started/pricing, changelog 2026-04-16).
PRICES: dict[str, float] = {
    "owned_read": 0.001,  # a post read through GET /2/users/:id/mentions by the brand's own app
    "post_read": 0.005,  # any other post read (the brand's timeline through another app)
    "user_read": 0.010,
    "dm_read": 0.010,
    "reply": 0.010,  # a summoned reply (the customer @mentioned or quoted us), with or without a URL
    "post": 0.015,
    "post_url": 0.200,
    "dm": 0.015,
    "like": 0.015,  # assumed a content create: the price list names posts and DMs, not likes
}
DAY = 86_400.0
SEEN_LIMIT = 5_000  # resources remembered per day for X's "billed once per UTC day" rule


def parse_prices(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, float]:
    """PRICES with the account's overrides ("name=0.002" items or a mapping); unknown names raise."""
    prices = dict(PRICES)
    pairs = items.items() if isinstance(items, Mapping) else (str(i).partition("=")[::2] for i in items or ())
    for name, value in pairs:
        name = str(name).strip()
        if name not in PRICES:
            raise ValueError(f"unknown X price {name!r} (known: {', '.join(PRICES)})")
        price = float(value)
        if not 0 <= price < 100:
            raise ValueError(f"X price {name}={value} is not a plausible USD amount")
        prices[name] = price
    return prices


def write_kind(action: str, text: str) -> str:
    if action == "dm":
        return "dm"
    if action == "reply":
        return "reply"
    return "post_url" if has_url(text) else "post"


@dataclass
class Ledger:
    """Today's spend; reads of one resource count once per UTC day, as X bills them."""

    prices: dict[str, float] = field(default_factory=lambda: dict(PRICES))
    day: int = -1
    spent: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def _roll(self, now: float) -> None:
        today = int(now // DAY)
        if today != self.day:
            self.day, self.spent, self.counts, self.seen = today, 0.0, {}, set()

    def read(self, kind: str, ids: Iterable[str], now: float) -> None:
        self._roll(now)
        for rid in ids:
            key = f"{kind}:{rid}"
            if key in self.seen:
                continue
            if len(self.seen) < SEEN_LIMIT:
                self.seen.add(key)
            self._add(kind)

    def write(self, kind: str, now: float) -> None:
        self._roll(now)
        self._add(kind)

    def _add(self, kind: str) -> None:
        self.spent += self.prices[kind]
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def today(self, now: float) -> float:
        self._roll(now)
        return round(self.spent, 6)

    def describe(self, now: float) -> str:
        return f"${self.today(now):.3f} spent today (UTC)"

    def state(self) -> dict[str, Any]:
        return {"day": self.day, "spent": round(self.spent, 6), "counts": self.counts}

    def restore(self, state: object, now: float) -> None:
        """Today's figures from a cursor; another day's (or garbage) are ignored."""
        if not isinstance(state, dict) or state.get("day") != int(now // DAY) or self.day == state.get("day"):
            return
        try:
            spent = float(state.get("spent") or 0)
        except (TypeError, ValueError):
            return
        if 0 <= spent < 1e6:
            counts = state.get("counts")
            self.day, self.spent = int(state["day"]), spent
            self.counts = {str(k): int(v) for k, v in counts.items() if isinstance(v, int)} \
                if isinstance(counts, dict) else {}


def url_warning(text: str, action: str, prices: Mapping[str, float] = PRICES) -> str:
    """What to tell the agent before sending *text* as *action* when X bills it at the URL price."""
    if action != "post" or not has_url(text):
        return ""
    return (f"this post contains a link: X bills it ${prices['post_url']:.3f} instead of "
            f"${prices['post']:.3f} ({prices['post_url'] / prices['post']:.0f}×)")
