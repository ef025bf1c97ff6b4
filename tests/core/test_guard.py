"""The send guard: length and gap blocks, the name warning, and canned/edited/personal."""

from __future__ import annotations

import pytest

from agentconsole.replies.guard import CANNED, EDITED, PERSONAL, check, classify
from agentconsole.replies.templates import fill

DANA = {"first_name": "Dana", "name": "Dana Kim", "handle": "@dana_k"}


def test_a_good_reply_passes():
    verdict = check("Hi Dana, on it!", "x", "public", customer=DANA)
    assert verdict.blocks == () and verdict.warnings == ()
    assert verdict.allows() and verdict.source == PERSONAL
    assert verdict.length.used == 15 and verdict.length.limit == 280


def test_over_the_limit_blocks_and_says_by_how_much():
    verdict = check("Dana " + "x" * 280, "x", "public", customer=DANA)
    assert verdict.length.over == 5
    assert verdict.blocks == ("5 over the X limit (285/280 characters)",)
    assert not verdict.allows(override_warnings=True)


def test_bluesky_counts_graphemes_and_instance_limits_win():
    flag, family = "🇯🇵", "👨‍👩‍👧"  # one grapheme each: 8 and 18 UTF-8 bytes
    assert check("Dana " + flag * 295, "bluesky", "public", customer=DANA).allows()
    assert check("Dana " + flag * 296, "bluesky", "public", customer=DANA).blocks[0].startswith("1 over")
    assert not check("Dana " + family * 295, "bluesky", "public", customer=DANA).allows()  # 5,315 bytes > 3,000
    assert check("Dana " + "x" * 600, "mastodon", "public", limit=1000, customer=DANA).allows()
    assert check("Dana " + "x" * 600, "mastodon", "public", customer=DANA).length.over == 105


def test_unfilled_gaps_block_until_edited():
    filled = fill("Hi {first_name}, {agent_first_name} here", {})
    verdict = check(filled.text, "x", "public", customer={}, template_text=filled.text)
    assert verdict.blocks == ("fill in {first_name}, {agent_first_name} before sending",)
    fixed = filled.text.replace("⟦first_name⟧", "Dana").replace("⟦agent_first_name⟧", "Alice")
    assert check(fixed, "x", "public", customer=DANA, template_text=filled.text).allows()


def test_empty_reply_is_blocked():
    assert check("  \n", "email", "email").blocks == ("nothing to send",)


@pytest.mark.parametrize("text, warned", [
    ("Thanks for waiting, we are on it", True),
    ("Thanks dana, we are on it", False),
    ("@dana_k we are on it", False),
    ("dana_k: we are on it", False),
])
def test_social_reply_without_the_name_is_a_soft_warning(text, warned):
    verdict = check(text, "mastodon", "dm", customer=DANA)
    assert bool(verdict.warnings) is warned
    if warned:
        assert verdict.warnings == ("the reply never uses the customer's name (Dana)",)
        assert not verdict.allows() and verdict.allows(override_warnings=True)


def test_no_name_warning_for_email_or_when_no_name_is_known():
    assert check("Thanks for waiting", "email", "email", customer=DANA).warnings == ()
    assert check("Thanks for waiting", "x", "public", customer={"first_name": None}).warnings == ()


def test_classify():
    tpl = "Hi Dana, I'm so sorry your order hasn't arrived yet. Could you DM us the order number?"
    assert classify(tpl, tpl) == CANNED
    assert classify(tpl.replace(" ", "  ") + "\n", tpl) == CANNED
    assert classify(tpl.replace("so sorry", "really sorry"), tpl) == EDITED
    assert classify("A whole new paragraph first. " + tpl, tpl) == EDITED
    assert classify("ok", tpl) == PERSONAL
    assert classify("Totally different words written by the agent themselves here, nothing alike", tpl) \
        == PERSONAL
    assert classify(tpl, None) == PERSONAL


@pytest.mark.parametrize("text", [
    "Hi {first_name}, your order {order_number} ships today.",
    "Thanks { name }!",
    "See you {next_start|soon}",
])
def test_hand_typed_placeholders_block_like_canned_gaps(text):
    verdict = check(text, "x", "public", customer=DANA)
    assert not verdict.allows(override_warnings=True)
    assert verdict.blocks[0].startswith("fill in {")


def test_typed_and_canned_gaps_are_named_once_each():
    text = fill("Hi {first_name}", {}).text + " re {order_number} and {first_name}"
    assert check(text, "email", "email").blocks == ("fill in {first_name}, {order_number} before sending",)


@pytest.mark.parametrize("text", ["Use {} or {{ }} in the template", "a set {1, 2}", "json {\"a\": 1}"])
def test_braces_that_are_not_placeholders_pass(text):
    assert check(text, "email", "email").allows()
