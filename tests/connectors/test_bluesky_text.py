"""Bluesky's text rules without a server: facets as UTF-8 byte ranges, and the grapheme and byte limits."""

from __future__ import annotations

import pytest

from agentconsole.channels import registry
from agentconsole.domain.models import Kind
from agentconsole.replies.lengths import measure
from connectors.bluesky import TEXT_RULE
from connectors.bluesky.richtext import facets, spans

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 bytes


async def resolve(handle: str) -> str | None:
    return {"mo.bsky.social": "did:plc:mo", "shop.test": "did:plc:shop"}.get(handle)


def _slice(text: str, facet: dict) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"]:index["byteEnd"]].decode()


async def test_mention_offsets_count_bytes_after_emoji_and_cjk() -> None:
    text = f"{FAMILY}🎉 你好, @mo.bsky.social! 注文は https://shop.example/orders/4411."
    found = await facets(text, resolve)
    assert [f["features"][0]["$type"] for f in found] == ["app.bsky.richtext.facet#mention",
                                                           "app.bsky.richtext.facet#link"]
    assert found[0]["index"]["byteStart"] == len(f"{FAMILY}🎉 你好, ".encode()) == 38
    assert _slice(text, found[0]) == "@mo.bsky.social" and found[0]["features"][0]["did"] == "did:plc:mo"
    assert _slice(text, found[1]) == "https://shop.example/orders/4411"  # the full stop is not the link's
    assert found[1]["features"][0]["uri"] == "https://shop.example/orders/4411"


async def test_unknown_handles_and_addresses_stay_plain_text() -> None:
    text = "mail help@shop.test or ask @nobody.example, @shop.test knows"
    found = await facets(text, resolve)
    assert [_slice(text, f) for f in found] == ["@shop.test"]
    assert [s.value for s in spans("see (https://a.example/x_(y)) and @x")] == ["https://a.example/x_(y)"]


def test_the_plug_in_counts_graphemes_and_bytes_against_one_limit() -> None:
    assert registry.text_rule("bluesky") is TEXT_RULE and TEXT_RULE.unit == "graphemes"
    assert measure("a" * 300, "bluesky").over == 0 and measure("a" * 301, "bluesky").over > 0
    assert measure(FAMILY * 120, "bluesky").over == 0  # 120 graphemes, exactly 3,000 bytes
    over = measure(FAMILY * 121, "bluesky")  # 121 graphemes but 3,025 bytes: over the byte limit
    assert over.over > 0 and over.used == 303
    assert measure("é" * 1000, "bluesky", Kind.DM).over == 0 and measure("é" * 1001, "bluesky", Kind.DM).over > 0


@pytest.mark.parametrize("kind, limit", [(Kind.PUBLIC, 300), (Kind.DM, 1000)])
def test_limits_per_kind(kind: Kind, limit: int) -> None:
    assert TEXT_RULE.limit(kind) == limit
