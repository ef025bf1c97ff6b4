"""Check boxes and radio buttons whose state shows as a mark, not only as a colour (NO_COLOR, low contrast)."""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class MarkedCheckbox(Checkbox):
    """A Checkbox drawn `▐X▌` when ticked and `▐ ▌` when not: Textual's draws X in both states."""

    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual reads this class constant by that name
        return "X" if self.value else " "


class MarkedRadioButton(RadioButton):
    """A RadioButton drawn `▐●▌` when chosen and `▐ ▌` when not."""

    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual reads this class constant by that name
        return "●" if self.value else " "
