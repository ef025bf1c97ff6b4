"""Measuring what we send against a channel's limit; the channel facts come from its plug-in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from agentconsole.domain.models import Channel, Kind


@cache
def _patterns() -> tuple[Any, Any]:
    """(URL, grapheme) patterns; the regex module (for \\X) loads on first use, not at start-up."""
    import regex  # type: ignore[import-untyped]  # regex ships no type hints; types-regex is not a dependency

    return (regex.compile(r"https?://[^\s<>\"]+|\bwww\.[^\s<>\"]+", regex.IGNORECASE),
            regex.compile(r"\X"))

# X's weighted counting (twitter-text v3 config): these code point ranges weigh 1, all others 2;
# every URL counts as 23 characters whatever its length. Kept here, beside the other counting
# methods, for the plug-ins that count this way.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_LENGTH = 23


@dataclass(frozen=True, slots=True)
class Length:
    """A text's length as the channel counts it, against the channel's limit."""
    used: int
    limit: int | None
    unit: str

    @property
    def over(self) -> int:
        return max(0, self.used - self.limit) if self.limit is not None else 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else self.limit - self.used

    def describe(self) -> str:
        if self.limit is None:
            return counted(self.used, self.unit)
        if self.over:
            return f"{self.used}/{self.limit} · {self.over} over"
        return f"{self.used}/{self.limit}"


def counted(n: int, unit: str) -> str:
    """ "1 character", "2 characters": *unit* is the plural."""
    return f"{n} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


def limit_for(channel: Channel | str, kind: Kind | str, override: int | None = None) -> int | None:
    """The channel's limit for this kind of message, as its plug-in declares it; *override* wins
    (e.g. a Mastodon instance's)."""
    if override is not None:
        return override
    from agentconsole.channels import registry

    return registry.text_rule(channel).limit(Kind(kind))


def measure(text: str, channel: Channel | str, kind: Kind | str = Kind.PUBLIC,
            limit: int | None = None) -> Length:
    """Count *text* the way *channel*'s plug-in counts it, against its limit."""
    from agentconsole.channels import registry

    rule = registry.text_rule(channel)
    lim = limit if limit is not None else rule.limit(Kind(kind))
    return Length(rule.count(text), lim, rule.unit)


def urls_as(url_length: int, count: Callable[[str], int] = len) -> Callable[[str], int]:
    """A counting method where every URL weighs *url_length* and the rest is counted by *count*."""
    return lambda text: _with_urls_as(text, url_length, count)


def grapheme_length(text: str) -> int:
    """User-perceived characters: a family emoji or a flag is one."""
    return len(_patterns()[1].findall(text))


def x_weighted_length(text: str) -> int:
    """X's count out of 280: CJK and emoji weigh 2 (an emoji sequence counts once), URLs 23."""
    def weigh(chunk: str) -> int:
        units = 0
        for cluster in _patterns()[1].findall(chunk):
            if len(cluster) > 1 and _is_emoji_sequence(cluster):
                units += 2
                continue
            for ch in cluster:
                code = ord(ch)
                units += 1 if any(lo <= code <= hi for lo, hi in _X_LIGHT) else 2
        return units

    return _with_urls_as(text, X_URL_LENGTH, weigh)


def _is_emoji_sequence(cluster: str) -> bool:
    return any(ord(ch) >= 0x1F000 or ch in "\u200d\ufe0f" for ch in cluster)


def _with_urls_as(text: str, url_length: int, count: Callable[[str], int]) -> int:
    total, pos = 0, 0
    for match in _patterns()[0].finditer(text):
        total += count(text[pos:match.start()]) + url_length
        pos = match.end()
    return total + count(text[pos:])
