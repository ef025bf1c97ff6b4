"""The demo's day: how busy each hour is, and which customers a teammate answers from the platform's app."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Seconds between customer messages on one account in the busiest hour: with the five demo accounts
# that is about one message a minute across the inbox at midday and a few an hour at night, some 140
# a day: a busy small shop, not a flood.
BUSIEST_INTERVAL = 300.0
# Share of the busiest hour's traffic, by local hour: quiet nights, a morning and an after-lunch peak.
RHYTHM = (0.08, 0.05, 0.04, 0.04, 0.05, 0.08, 0.15, 0.3, 0.55, 0.8, 0.95, 1.0,
          0.85, 0.8, 0.9, 1.0, 0.9, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.12)
# A small shop's owner answers some customers from the phone app before anyone opens the console:
# those conversations arrive answered, so the waiting count settles instead of growing all day.
ELSEWHERE_RATE = 0.4
ELSEWHERE_SLOTS = (1, 5)  # slots (of BUSIEST_INTERVAL) after the first message: 5 to 25 minutes
ELSEWHERE_SIGNATURE = "(answered from the {channel} app)"


@dataclass(frozen=True, slots=True)
class ShopDay:
    """The traffic model of the default demo: slots of BUSIEST_INTERVAL seconds, each carrying a
    customer message with the probability of its hour's share, in *timezone* (the machine's own
    when None)."""

    timezone: str | None = None

    def hour(self, when: float) -> int:
        if self.timezone:
            try:
                from datetime import datetime

                return datetime.fromtimestamp(when, ZoneInfo(self.timezone)).hour
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return time.localtime(when).tm_hour

    def fires(self, rng: random.Random, when: float) -> bool:
        """Whether the slot at *when* carries a message; *rng* is that slot's own stream."""
        return rng.random() < RHYTHM[self.hour(when)]

    @staticmethod
    def answered_after(rng: random.Random) -> int | None:
        """How many slots after a new conversation a teammate answers it elsewhere, or None."""
        if rng.random() >= ELSEWHERE_RATE:
            return None
        return rng.randint(*ELSEWHERE_SLOTS)
