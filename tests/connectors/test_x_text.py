"""X's weighted 280: twitter-text's weights, URLs at 23, NFC; and the plug-in's text rule uses it."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, Kind
from agentconsole.replies.lengths import measure
from connectors.x.credits import url_warning
from connectors.x.text import has_url, weighted_length


@pytest.mark.parametrize(("text", "count"), [
    ("a" * 280, 280),
    ("日本語", 6),  # CJK weighs 2
    ("👍", 2),
    ("👍🏽", 2),  # an emoji with a skin tone is one emoji
    ("👨‍👩‍👧‍👦", 2),  # a ZWJ family sequence counts once
    ("see https://example.com/a/very/long/path?with=query&and=more", 4 + 23),
    ("www.example.com", 23),
    ("e\u0301", 1),  # decomposed é: X counts the NFC form
    ("‘quotes’ – dash", 15),  # general punctuation inside twitter-text's weight-1 ranges ...
    ("…", 2),  # ... but the ellipsis (U+2026) is outside them
    ("Ärger ß", 7),  # Latin-1 and Latin Extended weigh 1
])
def test_weighted_length(text: str, count: int) -> None:
    assert weighted_length(text) == count


def test_the_composer_counts_with_the_plug_in_rule() -> None:
    length = measure("日" * 140, Channel.X, Kind.PUBLIC)
    assert (length.used, length.limit, length.over) == (280, 280, 0)
    over = measure("日" * 140 + "!", Channel.X, Kind.PUBLIC)
    assert over.over == 1 and over.describe() == "281/280 · 1 over"
    assert measure("x" * 9000, Channel.X, Kind.DM).limit == 10_000


def test_links_are_found_for_the_price_warning() -> None:
    assert has_url("details at https://juniper.example/faq") and has_url("see juniper.shop/faq")
    assert not has_url("order #4411 arrives on Monday.")
    warning = url_warning("read https://juniper.example/faq", "post")
    assert "$0.200" in warning and "13×" in warning
    assert url_warning("read https://juniper.example/faq", "reply") == ""  # summoned replies keep their price
