"""The placeholder engine: parsing, positioned errors, fallbacks, gaps and values for a conversation."""

from __future__ import annotations

import pytest

from agentconsole.domain.rows import AgentRow, ConversationRow
from agentconsole.replies.templates import (PLACEHOLDERS, TemplateError, check, fill, find_gaps, first_name_of,
                                    gap_marker, handle_label, parse, values_for)


def conv(**over) -> ConversationRow:
    base = dict(id=42, account_id=1, account_name="shop-x", channel="x", kind="public", subject="",
                status="open", needs_reply=True, waiting_since=0.0, last_message_at=0.0,
                last_preview="", last_direction="in", message_count=1, contact_id=1,
                contact_name="Dana Kim", handle="dana_k", assignee_id=None, assignee_name="",
                linked_id=None, escalated=False, first_customer_at=None, first_response_at=None,
                resolved_at=None, is_demo=False)
    base.update(over)
    return ConversationRow(**base)


AGENT = AgentRow(id=1, name="Alice Ng", initials="AN", timezone="UTC")


def test_plain_text_and_slots_in_order():
    tpl = parse("Hi {first_name|there}, {agent_initials} here.")
    assert [s.name for s in tpl.slots] == ["first_name", "agent_initials"]
    assert tpl.slots[0].fallback == "there"
    assert tpl.slots[1].fallback is None
    assert (tpl.slots[0].line, tpl.slots[0].col) == (1, 4)


def test_braces_escape():
    assert fill("{{not a slot}} and }}", {}).text == "{not a slot} and }"


@pytest.mark.parametrize("source, line, col, words", [
    ("Hi {frist_name}!", 1, 4, "unknown placeholder {frist_name}"),
    ("ok\nsecond {name.__class__}", 2, 8, "not a placeholder name"),
    ("ok\n\n  {handle[0]}", 3, 3, "not a placeholder name"),
    ("{name!r}", 1, 1, "not a placeholder name"),
    ("a {} b", 1, 3, "empty placeholder"),
    ("line one\nopen { here\n}", 2, 6, "not closed"),
    ("two\nclose } here", 2, 7, "lone '}'"),
    ("{0}", 1, 1, "not a placeholder name"),
    ("{first_name|a {b}", 1, 1, "not closed"),
])
def test_errors_carry_line_and_column(source, line, col, words):
    with pytest.raises(TemplateError) as info:
        parse(source)
    assert (info.value.line, info.value.col) == (line, col)
    assert words in str(info.value)
    assert str(info.value).startswith(f"line {line}, column {col}: ")


def test_check_returns_none_or_first_error():
    assert check("Hi {name}") is None
    err = check("{name} {nope} {also_nope}")
    assert err is not None and err.col == 8


def test_values_are_inserted_literally_never_reparsed():
    filled = fill("Hi {name}", {"name": "{agent_name} {{x}} ⟦y⟧"})
    assert filled.text == "Hi {agent_name} {{x}} ⟦y⟧"
    assert filled.gaps == ()


def test_fallback_used_when_value_missing_or_blank():
    assert fill("Hi {first_name|there}!", {"first_name": None}).text == "Hi there!"
    assert fill("Hi {first_name|there}!", {"first_name": "  "}).text == "Hi there!"
    assert fill("Hi {first_name|there}!", {"first_name": "Dana"}).text == "Hi Dana!"
    assert fill("Hi{first_name|}!", {}).text == "Hi!"


def test_missing_value_without_fallback_leaves_a_gap():
    filled = fill("Hi {first_name}, I'm {agent_first_name}.", {"agent_first_name": "Alice"})
    marker = gap_marker("first_name")
    assert filled.text == f"Hi {marker}, I'm Alice."
    assert not filled.complete
    assert [(g.name, filled.text[g.start:g.end]) for g in filled.gaps] == [("first_name", marker)]
    assert find_gaps(filled.text) == filled.gaps
    assert find_gaps(filled.text.replace(marker, "Dana")) == ()


def test_custom_allowed_set():
    with pytest.raises(TemplateError):
        parse("{first_name}", allowed={"agent_name": ""})
    assert parse("{agent_name}", allowed={"agent_name": ""}).slots[0].name == "agent_name"


@pytest.mark.parametrize("display, first", [
    ("Dana Kim", "Dana"), ("dana kim", "Dana"), ("Kim, Dana", "Dana"), ("Dr. Jane Smith", "Jane"),
    ("O'Neil Ryan", "O'Neil"), ("Zoë", "Zoë"), ("dana_k", None), ("j.li@example.com", None),
    ("", None), ("🌻🌻", None), ("Ana-María López", "Ana-María"), ("R2D2", None),
    ("Dana\x1b[31m Kim", "Dana"), ("🌻 Dana Kim", "Dana"), ("| Dana", "Dana"), ("dana2 Kim", None),
    ("佐藤 花子", None), ("佐藤花子", None), ("김민준", None), ("王 Wei", None), ("Refund", None),
    ("Refund Desk", None), ("Acme Support", None), ("ACME Inc.", None), ("The Coffee Shop", None),
    ("Tom & Co", None), ("Storey Jones", "Storey"),
])
def test_first_name_of(display, first):
    assert first_name_of(display) == first


def test_handle_label():
    assert handle_label("dana_k", "x") == "@dana_k"
    assert handle_label("@ray@fosstodon.org", "mastodon") == "@ray@fosstodon.org"
    assert handle_label("j.li@example.com", "email") == "j.li@example.com"
    assert handle_label("", "x") is None


def test_values_for_a_conversation_and_agent():
    values = values_for(conv(), AGENT, next_agent="Bob", next_start="17:00")
    assert set(values) == set(PLACEHOLDERS)
    assert values["first_name"] == "Dana"
    assert values["name"] == "Dana Kim"
    assert values["handle"] == "@dana_k"
    assert values["channel"] == "X"
    assert values["conversation_id"] == "42"
    assert values["agent_name"] == "Alice Ng"
    assert values["agent_first_name"] == "Alice"
    assert values["agent_initials"] == "AN"
    assert values["next_agent"] == "Bob" and values["shift_end"] is None
    text = fill("Hi {first_name|there}, {agent_initials} on {channel}", values).text
    assert text == "Hi Dana, AN on X"


def test_values_without_a_usable_name():
    values = values_for(conv(contact_name="dana_k"), AgentRow(2, "Bob Stone", "", "UTC"))
    assert values["first_name"] is None
    assert values["agent_initials"] == "BS"
    assert fill("Hi {first_name}", values).gaps[0].name == "first_name"


from hypothesis import given, strategies as st  # noqa: E402

from agentconsole.replies.templates import escape  # noqa: E402

_alphabet = st.sampled_from(list("{}|ab _\n\t.!é🌻") + ["first_name", "name", "{{", "}}"])


@given(st.lists(_alphabet, max_size=40).map("".join))
def test_parse_either_succeeds_or_raises_a_positioned_error(source):
    try:
        tpl = parse(source)
    except TemplateError as exc:
        lines = source.split("\n")
        assert 1 <= exc.line <= len(lines) and 1 <= exc.col <= len(lines[exc.line - 1])
    else:
        filled = fill(tpl, {})
        assert all(filled.text[g.start:g.end] == gap_marker(g.name) for g in filled.gaps)


@given(st.text(max_size=80))
def test_escaped_text_fills_to_itself(text):
    assert fill(escape(text), {}).text == text


@given(st.text(max_size=40))
def test_values_go_in_verbatim(value):
    filled = fill("<{name}>", {"name": value})
    if value.strip():
        assert filled.text == f"<{value}>" and filled.complete
    else:
        assert filled.gaps[0].name == "name"


@pytest.mark.parametrize("name", ["佐藤 花子", "Refund Team"])
def test_a_name_we_cannot_greet_by_takes_the_fallback(name):
    values = values_for(conv(contact_name=name), AGENT)
    assert values["first_name"] is None and values["name"] == name
    assert fill("Hi {first_name|there},", values).text == "Hi there,"
