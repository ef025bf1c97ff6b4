"""The key line at the bottom: the focused area's main verbs as one widget that repaints, never remounts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

from screens.common.steady import SteadyLines


@dataclass(frozen=True, slots=True)
class KeyHint:
    """One key shown in the key bar."""
    key: str  # the key as Textual names it, for simulate_key on a click
    display: str  # as shown, e.g. "^s" or "⏎"
    description: str
    enabled: bool
    action: str


DIM = Style(dim=True)


class KeyBar(SteadyLines, Widget):
    """Textual's Footer rebuilds one widget per key each time focus moves, which costs a restyle of all of
    them (most of the time it takes to open a screen here); this draws the same line as text."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--palette"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .keybar--palette {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, show_command_palette: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_command_palette = show_command_palette
        self.hints: tuple[KeyHint, ...] = ()
        self.palette: KeyHint | None = None
        self._spans: list[tuple[int, int, KeyHint]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        hints: list[KeyHint] = []
        seen: set[str] = set()
        palette = None
        active = screen.active_bindings
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue  # one hint per action, as the Footer shows it
            seen.add(binding.action)
            hints.append(KeyHint(binding.key, self.app.get_key_display(binding), binding.description, enabled,
                                 binding.action))
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, _tooltip = found
                palette = KeyHint(binding.key, self.app.get_key_display(binding), binding.description, enabled,
                                  binding.action)
                hints = [h for h in hints if h.action != palette.action]
        if (tuple(hints), palette) != (self.hints, self.palette):
            self.hints, self.palette = tuple(hints), palette
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        text_style = self.get_component_rich_style("keybar--description", partial=True)
        width = self.size.width
        tail = Text()
        if self.palette is not None:
            tail.append("▏", style=self.get_component_rich_style("keybar--palette", partial=True))
            tail.append(f"{self.palette.display} ", style=key_style)
            tail.append(f"{self.palette.description} ", style=text_style)
        room = width - tail.cell_len
        line = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for hint in self.hints:
            label = f"{hint.description} " if hint.description else ""
            size = cell_len(f" {hint.display} {label}")
            if line.cell_len + size > room:
                break  # a whole verb or none, never half a word
            start = line.cell_len
            extra = Style() if hint.enabled else DIM
            line.append(f" {hint.display} ", style=key_style + extra)
            line.append(label, style=text_style + extra)
            self._spans.append((start, line.cell_len, hint))
        if self.palette is not None:
            line.append(" " * max(0, width - line.cell_len - tail.cell_len))
            self._spans.append((line.cell_len, line.cell_len + tail.cell_len, self.palette))
            line.append_text(tail)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, hint in self._spans:
            if start <= event.x < end:
                if hint.enabled:
                    self.app.simulate_key(hint.key)
                else:
                    self.app.bell()
                return
