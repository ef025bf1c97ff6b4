"""The one way untrusted text reaches the screen: cleaned, made width-safe, wrapped in a plain rich Text."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from agentconsole.domain.sanitize import clean, display, one_line


def safe_line(s: str | None, limit: int) -> str:
    """Untrusted *s* as one plain line of at most *limit* characters, escapes neutralised and width-safe:
    what safe_text(s, single_line=True, limit=limit) shows, for a row that builds its segments itself."""
    return display(one_line(s, limit))


def safe_text(s: str | None, style: str | Style | None = None, *, single_line: bool = False,
              limit: int | None = None) -> Text:
    """Untrusted *s* as a Text: escapes neutralised, never parsed as markup or emoji codes.

    Rich's Text constructor treats its argument as literal characters, so `[/]` or `[@click=...]`
    stay visible text instead of becoming markup or actions. display() then drops or marks the
    characters terminals measure differently, so every row is as wide as Textual thinks.
    """
    if single_line:
        plain = one_line(s, limit) if limit else clean(s, keep_newlines=False)
    else:
        plain = clean(s)
        if limit is not None and len(plain) > limit:
            plain = plain[: limit - 1] + "…"
    return Text(display(plain), style=style or "", no_wrap=single_line, end="")
