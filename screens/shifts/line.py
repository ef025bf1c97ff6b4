"""The shift banner line: who is on shift and where their hello went, always on the first frame."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from agentconsole.domain.sanitize import clean
from agentconsole.shifts.banner import DIM, ERROR, LABEL, OK, PENDING, WARN, Banner, Part

_ROLE_CLASSES = {LABEL: "shift-banner--label", OK: "shift-banner--ok", PENDING: "shift-banner--pending",
                 WARN: "shift-banner--warn", ERROR: "shift-banner--error", DIM: "shift-banner--dim"}


class ShiftBanner(Widget):
    """One line: who is on shift and where their hello went, or that nobody is and which key starts one."""

    COMPONENT_CLASSES = set(_ROLE_CLASSES.values())
    DEFAULT_CSS = """
    ShiftBanner { height: 1; background: $panel; color: $foreground; }
    ShiftBanner > .shift-banner--label { text-style: bold; }
    ShiftBanner > .shift-banner--ok { color: $success; }
    ShiftBanner > .shift-banner--pending { color: $secondary; }
    ShiftBanner > .shift-banner--warn { color: $warning; text-style: bold; }
    ShiftBanner > .shift-banner--error { color: $error; text-style: bold; }
    ShiftBanner > .shift-banner--dim { color: $text-muted; }
    """

    def __init__(self, banner: Banner | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._banner = banner
        self._parts: tuple[Part, ...] = ()

    @property
    def banner(self) -> Banner | None:
        return self._banner

    def show(self, banner: Banner) -> None:
        """Display *banner* (built off the UI thread by the owner); nothing else refreshes it."""
        parts = tuple(banner.parts())
        if self._banner is None or parts != self._parts:  # read every half minute, mostly unchanged
            self._parts = parts
            self.refresh()
        self._banner = banner

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if self._banner is None:
            return text
        for part, role in self._banner.parts():
            style = self.get_component_rich_style(_ROLE_CLASSES[role]) if role in _ROLE_CLASSES else ""
            text.append(clean(part).replace("\n", " "), style)  # keeps the spacing between parts
        return text
