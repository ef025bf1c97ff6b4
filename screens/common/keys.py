"""The live key catalogue: every binding of the app, a screen and its widgets, with the keymap applied."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from textual.actions import parse
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


@dataclass(frozen=True)
class KeyEntry:
    """One binding as the help screen lists it: the node it belongs to and its keys as shown."""
    node: DOMNode
    binding: Binding
    keys: str  # every key for it, as displayed
    state: bool | None  # check_action: True applies, None disabled here and now, False hidden


@cache  # read on every cursor move (the footer's change check); a class's BINDINGS never change
def bindings_of(cls: type) -> list[Binding]:
    """A screen's or widget's own verbs: the BINDINGS with an id declared on its class and the classes
    it inherits from, the nearest declaration of an id winning (the one registry help, the palette,
    the footer's change check and the keymap validation read)."""
    found: dict[str, Binding] = {}
    for klass in reversed(cls.__mro__):
        for binding in vars(klass).get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found[binding.id] = binding
    return list(found.values())


def binding_scopes(app_class: type) -> list[list[Binding]]:
    """The bindings active together: each screen or widget class of ours with its inherited bindings,
    plus the App's (which every screen also answers)."""
    import importlib
    import pkgutil

    import screens

    for info in pkgutil.walk_packages(screens.__path__, "screens."):
        importlib.import_module(info.name)
    app_bindings = bindings_of(app_class)
    scopes = [app_bindings]
    pending = list(DOMNode.__subclasses__())
    seen: set[type] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("screens.") and cls is not app_class and "BINDINGS" in vars(cls):
            scopes.append(app_bindings + bindings_of(cls))
    return scopes


def action_state(node: DOMNode, action: str) -> bool | None:
    """check_action for *action* on *node* (or the app or screen it names): True applies, None is
    disabled here and now, False hidden."""
    namespace, name, parameters = parse(action)
    target = {"app": node.app, "screen": node.screen}.get(namespace, node) if namespace else node
    return target.check_action(name, parameters)


def catalogue(screen: Screen) -> list[KeyEntry]:
    """Every binding that exists on *screen* (not only the focused chain), grouped per action, with the
    user's keymap applied."""
    app = screen.app
    config = getattr(app, "config", None)
    keymap: dict[str, str] = dict(getattr(config, "keymap", None) or {})
    nodes: list[DOMNode] = [app, screen, *screen.query("*")]
    entries: list[KeyEntry] = []
    seen: set[tuple[int, str]] = set()
    for node in nodes:
        grouped: dict[str, list[Binding]] = {}
        for binding in bindings_of(type(node)):
            if binding.system:
                continue
            grouped.setdefault(binding.action, []).append(binding)
        for action, group in grouped.items():
            if (id(node), action) in seen:
                continue
            seen.add((id(node), action))
            shown = [replace(b, key=key) for b in group for key in keymap.get(b.id or "", b.key).split(",")]
            keys = " ".join(dict.fromkeys(app.get_key_display(b) for b in shown))
            entries.append(KeyEntry(node, group[0], keys, action_state(node, action)))
    return entries
