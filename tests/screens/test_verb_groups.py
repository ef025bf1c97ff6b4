"""The inbox's verb groups live in their feature folders and rely on the inbox screen only through the
names screens.inbox.verbs.HOST_NEEDS declares."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
from textual.screen import Screen

from screens.canned.inbox_verbs import CannedVerbs
from screens.composer.inbox_verbs import ComposerVerbs
from screens.escalation.inbox_verbs import EscalationVerbs
from screens.heard.inbox_verbs import HeardVerbs
from screens.inbox.list_verbs import ListVerbs
from screens.inbox.pane_follow import PaneFollow
from screens.inbox.screen import InboxScreen
from screens.inbox.search_verbs import SearchVerbs
from screens.inbox.today import TodayVerbs
from screens.inbox.verbs import HOST_NEEDS, InboxVerbs
from screens.metrics.inbox_verbs import MetricsVerbs
from screens.shifts.inbox_verbs import ShiftVerbs

GROUPS = [CannedVerbs, ComposerVerbs, EscalationVerbs, HeardVerbs, ListVerbs, MetricsVerbs, PaneFollow, SearchVerbs,
          ShiftVerbs, TodayVerbs]


def self_names(cls: type) -> set[str]:
    """Every `self.<name>` the class's own source reads or writes."""
    node = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return {n.attr for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"}


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.__name__)
def test_a_verb_group_uses_only_itself_the_base_textual_and_the_declared_host(group: type) -> None:
    own = set(vars(group)) | set(vars(InboxVerbs)) | set(dir(Screen)) | set(HOST_NEEDS)
    for base in group.__mro__:  # what the group sets on itself in __init__ counts as its own
        if "__init__" in vars(base) and base.__module__.startswith("screens."):
            own |= self_names(base)
    undeclared = sorted(self_names(group) - own)
    assert not undeclared, f"{group.__name__} reaches into the inbox screen for {undeclared}: add them to HOST_NEEDS"


def test_the_inbox_screen_provides_everything_the_groups_may_ask_for() -> None:
    # A name is provided when the screen's class has it or one of its own classes sets it on self.
    ours = [base for base in InboxScreen.__mro__ if base.__module__.startswith("screens.")]
    provided = set().union(*(self_names(base) for base in ours))
    missing = [name for name in HOST_NEEDS if not hasattr(InboxScreen, name) and name not in provided]
    assert not missing
    assert all(issubclass(InboxScreen, group) for group in GROUPS)


def test_each_group_lives_in_its_feature_folder() -> None:
    folders = {group.__name__: group.__module__.split(".")[1] for group in GROUPS}
    assert folders == {"CannedVerbs": "canned", "ComposerVerbs": "composer", "EscalationVerbs": "escalation",
                       "HeardVerbs": "heard", "ListVerbs": "inbox", "MetricsVerbs": "metrics", "PaneFollow": "inbox",
                       "SearchVerbs": "inbox", "ShiftVerbs": "shifts", "TodayVerbs": "inbox"}


def test_a_host_name_that_is_not_declared_is_caught() -> None:
    class Sneaky(InboxVerbs):
        def act(self) -> None:
            self.secret_state_of_the_inbox = 1

    assert "secret_state_of_the_inbox" in self_names(Sneaky) - set(HOST_NEEDS) - set(dir(Screen))
