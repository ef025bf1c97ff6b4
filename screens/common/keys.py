"""The live key catalogue: every binding of the app, a screen and its widgets, with the keymap applied."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


@dataclass(frozen=True)
class KeyEntry:
    node: DOMNode
    binding: Binding
    keys: str  # every key for it, as displayed
    state: bool | None  # check_action: True applies, None disabled here and now, False hidden


def catalogue(screen: Screen) -> list[KeyEntry]:
    """Every binding that exists on *screen* (not only the focused chain), grouped per action."""
    app = screen.app
    nodes: list[DOMNode] = [app, screen, *screen.query("*")]
    entries: list[KeyEntry] = []
    seen: set[tuple[int, str]] = set()
    for node in nodes:
        bindings = node._bindings.copy()
        if not bindings.key_to_bindings:
            continue
        if app._keymap:
            bindings.apply_keymap(app._keymap)
        grouped: dict[str, list[Binding]] = {}
        for _key, binding in bindings:
            if binding.system or not binding.id:
                continue  # only our own verbs: widget internals (TextArea editing keys) are not ours
            grouped.setdefault(binding.action, []).append(binding)
        for action, group in grouped.items():
            if (id(node), action) in seen:
                continue
            seen.add((id(node), action))
            state = app._check_action_state(action, node)
            keys = " ".join(dict.fromkeys(app.get_key_display(b) for b in group))
            entries.append(KeyEntry(node, group[0], keys, state))
    return entries
