"""Response targets per channel and kind, and how a wait is written (the rule itself is in rule.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentconsole.domain.models import Channel, Kind

HOUR = 3600.0
DEFAULT_TARGETS: dict[str, float] = {
    "public": 1 * HOUR,
    "dm": 1 * HOUR,
    "email": 24 * HOUR,
}


@dataclass(frozen=True)
class Targets:
    """Targets in seconds by kind, with optional per-account overrides {account: {kind: seconds}}."""

    by_kind: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    by_account: dict[str, dict[str, float]] = field(default_factory=dict)

    def target(self, kind: Kind | str, account: str | None = None, channel: Channel | str | None = None
               ) -> float:
        kind = str(kind)
        if account and kind in self.by_account.get(account, {}):
            return self.by_account[account][kind]
        if channel is not None and str(channel) == Channel.EMAIL:
            kind = "email"
        return self.by_kind.get(kind, DEFAULT_TARGETS.get(kind, HOUR))


def format_wait(seconds: float | None) -> str:
    """Compact waiting time: 45s, 42m, 1h05m, 2d3h."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h}h"
