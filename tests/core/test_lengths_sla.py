"""Channel length counting and the response-target states."""

from __future__ import annotations

from agentconsole.replies.lengths import limit_for, measure
from agentconsole.response.rule import WaitState, state_for
from agentconsole.response.sla import Targets, format_wait


def test_x_counts_cjk_and_emoji_double_and_urls_as_23():
    assert measure("hello", "x").used == 5
    assert measure("日本語", "x").used == 6
    assert measure("👨‍👩‍👧", "x").used == 2
    assert measure("see https://example.com/" + "a" * 100, "x").used == 4 + 23
    assert measure("a" * 281, "x").over == 1


def test_bluesky_counts_graphemes_and_mastodon_urls():
    assert measure("👨‍👩‍👧🇫🇷é", "bluesky").used == 3
    assert measure("x https://example.com/" + "b" * 80, "mastodon").used == 2 + 23
    assert measure("a" * 501, "mastodon").describe() == "501/500 · 1 over"
    assert measure("a" * 600, "mastodon", limit=1000).over == 0


def test_email_has_no_limit():
    assert limit_for("email", "email") is None
    assert measure("x" * 10_000, "email", "email").over == 0


def test_targets_and_states():
    t = Targets()
    assert t.target("public") == 3600 and t.target("email", channel="email") == 86400
    assert state_for(2000, t.target("dm")) == WaitState.WITHIN
    assert state_for(2700, t.target("dm")) == WaitState.NEAR
    assert state_for(3600, t.target("dm")) == WaitState.OVER
    assert Targets(by_account={"shop": {"public": 600}}).target("public", "shop") == 600
    assert state_for(0, 60) == WaitState.WITHIN and WaitState.OVER.mark == "▲"


def test_format_wait():
    assert [format_wait(s) for s in (45, 2520, 3900, 183600)] == ["45s", "42m", "1h05m", "2d3h"]
    assert format_wait(None) == "" and format_wait(-5) == "0s"


def test_the_channel_facts_come_from_the_plug_ins():
    from agentconsole.channels import registry

    assert registry.text_rule("mastodon") is registry.get("mastodon").text["mastodon"]
    assert registry.text_rule("email") is registry.get("email").text["email"]
    assert registry.text_rule("x") is registry.get("x").text["x"]  # X's own plug-in, not the demo's
    # Channels whose package has not landed yet are measured as the demo simulates them.
    assert measure("日本語", "x", "dm").limit == 10_000 and measure("x", "bluesky").unit == "graphemes"


def test_counts_read_in_the_singular_for_one():
    from agentconsole.replies.lengths import Length, counted

    assert Length(1, None, "characters").describe() == "1 character"
    assert Length(2, None, "characters").describe() == "2 characters"
    assert counted(1, "more characters") == "1 more character" and counted(0, "graphemes") == "0 graphemes"
