"""The channel contract, run for every registered plug-in (see conftest.py for the harnesses)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from agentconsole.channels import registry
from agentconsole.channels.plugin import Option, OptionError
from agentconsole.domain.errors import AuthError, ConnectorError, RateLimited, TemporaryError
from agentconsole.domain.models import Kind
from agentconsole.sync.engine import Engine
from tests.connectors.contract.conftest import applicable
from tests.core.fakes import ScriptedConnector

EXPECTED = {"auth": AuthError, "rate_limit": RateLimited, "server_error": TemporaryError,
            "malformed": TemporaryError, "dropped": TemporaryError}


async def drain(connector, cursor):
    """Fetch page after page, as the engine does, until the connector says there is no more."""
    messages = []
    for _ in range(50):
        result = await connector.fetch(cursor)
        messages.extend(result.messages)
        cursor = result.cursor
        if not result.more:
            return messages, cursor
    raise AssertionError("the connector never stopped saying there is more")


def test_plug_ins_are_listed_without_importing_any() -> None:
    code = ("import sys; from agentconsole.channels import registry; names = registry.names(); "
            "print(','.join(names)); print(','.join(m for m in sys.modules if m.startswith('connectors')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, imported = done.stdout.split("\n")[:2]
    assert {"demo", "email", "mastodon"} <= set(names.split(","))
    assert imported == ""


async def test_the_declaration_is_consistent(harness) -> None:
    plugin = harness.plugin
    assert plugin.name == harness.name and plugin.channels
    flags = [o.flag for o in plugin.options]
    assert len(set(flags)) == len(flags) and all(isinstance(o, Option) and o.help for o in plugin.options)
    for option in plugin.options:
        if option.required:
            with pytest.raises(OptionError, match=option.flag):
                option.parse(None)
        else:
            option.parse(None)  # every default is acceptable as it is
    account = harness.account()
    declared = plugin.capabilities(account)  # from the row alone: no connector, no secret
    connector = harness.build()
    try:
        assert connector.capabilities == declared
        assert connector.channel in plugin.channels
        assert plugin.can_watch == callable(getattr(connector, "watch", None))
    finally:
        await connector.close()
    if plugin.channel is not None:  # a channel's own plug-in is where its text rule comes from
        rule = plugin.text_rule(plugin.channel)
        assert rule is not None and registry.text_rule(plugin.channel) is rule
        assert declared.max_length == rule.limit(Kind.PUBLIC)


async def test_fetch_from_no_cursor_and_from_a_cursor_brings_no_duplicates(harness) -> None:
    expected = await harness.seed(3)
    connector = harness.build()
    try:
        first, cursor = await drain(connector, None)
        assert expected < 0 or len(first) == expected
        again, cursor = await drain(connector, cursor)
        assert again == []  # nothing new: the cursor covers what was read
        more = await harness.seed(2)
        second, cursor = await drain(connector, cursor)
    finally:
        await connector.close()
    ids = [m.external_id for m in first + second]
    assert len(ids) == len(set(ids))
    assert (len(second) == more) if more >= 0 else second


@pytest.mark.parametrize("fault", list(EXPECTED))
async def test_platform_answers_map_to_the_typed_errors(harness, fault) -> None:
    applicable(harness, fault)
    await harness.seed(1)
    await harness.inject(fault)
    connector = harness.build()
    try:
        with pytest.raises(EXPECTED[fault]) as raised:
            await connector.fetch(None)
    finally:
        await connector.close()
    if fault == "rate_limit":
        assert raised.value.retry_after == pytest.approx(120, abs=1)
    if fault != "auth":
        assert not isinstance(raised.value, AuthError)


async def test_a_trickling_server_is_cut_off_at_the_deadline(harness) -> None:
    applicable(harness, "trickle")
    await harness.inject("trickle")
    connector = harness.build()
    started = time.monotonic()
    try:
        with pytest.raises(TemporaryError):
            await connector.fetch(None)
    finally:
        took = time.monotonic() - started
        await connector.close()
    assert took < harness.deadline + 2.0, f"held for {took:.1f} s with a {harness.deadline} s deadline"


@pytest.mark.parametrize("fault", ["garbage", "huge", "garbage_id"])
async def test_garbage_and_huge_pages_leave_the_cursor_where_it_was(harness, fault) -> None:
    applicable(harness, fault)
    await harness.seed(2)
    connector = harness.build()
    try:
        _, cursor = await drain(connector, None)
        before = harness.position(cursor)
        await harness.inject(fault)
        try:
            result = await connector.fetch(cursor)
        except ConnectorError as exc:
            assert isinstance(exc, TemporaryError)  # the engine backs off; the cursor is not touched
        else:
            assert result.messages == [] and harness.position(result.cursor) == before
        harness.clear()
        later = await harness.seed(1)
        after, _ = await drain(connector, cursor)
    finally:
        await connector.close()
    assert len(after) == later  # nothing later was skipped


async def test_the_engine_starts_push_exactly_where_the_plug_in_declares_it(plugin_name, store, clock) -> None:
    plugin = registry.get(plugin_name)
    account = store.ensure_account(f"{plugin_name}-push", plugin.channel or "mastodon", plugin_name)
    watched = asyncio.Event()

    class Pushing(ScriptedConnector):
        async def watch(self, wake):  # offered by every connector here: only the declaration decides
            watched.set()
            await asyncio.sleep(3600)

    engine = Engine(store, {account: Pushing(clock)}, clock=clock)
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.wait_for(watched.wait(), 0.3)
    except TimeoutError:
        pass
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert watched.is_set() == plugin.can_watch
