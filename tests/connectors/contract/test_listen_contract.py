"""The listening extra of the channel contract (agentconsole.channels.contract.Listens), run for every
registered plug-in: one that listens finds brand talk as plain data, once, never the posts that mention
the brand, and maps the platform's answers to the typed errors; one that does not declares why."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Listens, Reply
from agentconsole.domain.errors import AuthError, RateLimited, TemporaryError
from agentconsole.domain.models import InboundMessage, Kind
from tests.connectors.contract.conftest import LISTEN_FAULTS, applicable

TERMS = ListenTerms(("Juniper & Co",), ("junipermade",))
EXPECTED = {"auth": AuthError, "rate_limit": RateLimited, "server_error": TemporaryError,
            "malformed": TemporaryError}


async def listens(harness) -> None:
    """Skip, saying why, for a plug-in that declares it does not listen; else it must."""
    connector = harness.build()
    try:
        does = isinstance(connector, Listens)
    finally:
        await connector.close()
    if "listen" in harness.not_applicable:
        assert not does, f"{harness.name} declares it does not listen, yet its connector has listen()"
        pytest.skip(f"{harness.name}: {harness.not_applicable['listen']}")
    assert does, f"{harness.name}: its connector does not listen; declare not_applicable['listen'] with the reason"


def plain(value) -> bool:
    """Only dataclasses, enums and builtins: what a connector hands the core (no httpx, no dicts of JSON)."""
    if dataclasses.is_dataclass(value):
        return all(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool, bytes))


async def test_listening_is_declared_either_way(harness) -> None:
    await listens(harness)
    connector = harness.build()
    try:
        assert isinstance(connector.listen_interval, float) and connector.listen_interval >= 60
    finally:
        await connector.close()


async def test_listen_from_no_cursor_and_from_a_cursor_brings_each_post_once(harness) -> None:
    await listens(harness)
    expected = await harness.seed_heard(3)
    connector = harness.build()
    try:
        first = await connector.listen(TERMS, None)
        again = await connector.listen(TERMS, first.cursor)
        more = await harness.seed_heard(2)
        second = await connector.listen(TERMS, again.cursor)
    finally:
        await connector.close()
    assert isinstance(first, ListenResult) and plain(first)
    assert expected < 0 or len(first.posts) == expected
    assert again.posts == []  # nothing new: the cursor covers what was heard
    assert (len(second.posts) == more) if more >= 0 else second.posts
    ids = [p.message.external_id for p in first.posts + second.posts]
    assert len(ids) == len(set(ids))
    for post in first.posts + second.posts:
        assert isinstance(post, HeardPost) and isinstance(post.message, InboundMessage)
        assert post.message.kind == Kind.PUBLIC and post.matched and isinstance(post.reply, Reply)
        assert "@" + harness.account().handle.lstrip("@").lower() not in post.message.text.lower()
        assert post.receives_dm in (None, True, False)
    json.loads(second.cursor or "null")  # every cursor is the connector's JSON, kept as text by the core


@pytest.mark.parametrize("fault", LISTEN_FAULTS)
async def test_listening_answers_map_to_the_typed_errors(harness, fault) -> None:
    await listens(harness)
    applicable(harness, f"listen:{fault}")
    await harness.seed_heard(1)
    await harness.inject_listen(fault)
    connector = harness.build()
    try:
        with pytest.raises(EXPECTED[fault]) as raised:
            await connector.listen(TERMS, None)
    finally:
        await connector.close()
    if fault == "rate_limit":
        assert raised.value.retry_after == pytest.approx(120, abs=1)
    if fault != "auth":
        assert not isinstance(raised.value, AuthError)
