"""User themes: one TOML file each in the config folder's themes/, checked key by key before the console uses it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

from themes import THEME_NAMES, VARIABLE_DEFAULTS

COLOURS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
           "surface", "panel", "boost")
NUMBERS = ("luminosity_spread", "text_alpha")
ALLOWED = ("name", *COLOURS, "dark", *NUMBERS, "variables")
TAKEN = frozenset((*THEME_NAMES, *BUILTIN_THEMES))


@dataclass(frozen=True)
class UserThemes:
    themes: tuple[Theme, ...]
    files: dict[str, Path]  # theme name -> its file
    problems: tuple[str, ...]  # one line per file that was skipped: the file, the key, what is wrong

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(theme.name for theme in self.themes)


def themes_dir(config_path: Path) -> Path:
    """themes/ beside the config file (so AGENTCONSOLE_CONFIG moves it too)."""
    return config_path.parent / "themes"


def load_user_themes(folder: Path) -> UserThemes:
    """Every *.toml in *folder*, in name order; a bad file is skipped and said why, the others load."""
    themes: list[Theme] = []
    files: dict[str, Path] = {}
    problems: list[str] = []
    try:
        paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    except OSError as exc:
        return UserThemes((), {}, (f"{folder}: cannot be read: {exc.strerror or exc}",))
    for path in paths:
        try:
            theme = parse_theme(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read: {exc}")
            continue
        except ThemeError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if theme.name in TAKEN:
            problems.append(f"{path}: name {theme.name!r} is a built-in theme's; choose another")
            continue
        if theme.name in files:
            problems.append(f"{path}: name {theme.name!r} is taken by {files[theme.name].name}")
            continue
        themes.append(theme)
        files[theme.name] = path
    return UserThemes(tuple(themes), files, tuple(problems))


class ThemeError(Exception):
    """A theme file that cannot be used; the message names the key and what is allowed."""


def parse_theme(text: str) -> Theme:
    import tomllib  # here, not at the top: a console without theme files never needs it

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"not valid TOML: {exc}") from exc
    for key in data:
        if key not in ALLOWED:
            raise ThemeError(f"unknown key {key!r}; allowed: {', '.join(ALLOWED)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or not all(c.isalnum() or c in "-_" for c in name):
        raise ThemeError("name must be a string of letters, digits, - and _ (it is what [ui] theme names)")
    if "primary" not in data:
        raise ThemeError("primary is missing: every theme needs at least a primary colour")
    values: dict[str, object] = {"name": name}
    for key in COLOURS:
        if key in data:
            values[key] = _colour(key, data[key])
    if "dark" in data:
        if not isinstance(data["dark"], bool):
            raise ThemeError("dark must be true or false")
        values["dark"] = data["dark"]
    for key in NUMBERS:
        if key in data:
            number = data[key]
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 1:
                raise ThemeError(f"{key} must be a number from 0 to 1")
            values[key] = float(number)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeError("variables must be a table: write it as a [variables] header")
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ThemeError(f"variables.{key} must be a string in quotes")
        if key in VARIABLE_DEFAULTS:  # the console's own tokens are colours
            _colour(f"variables.{key}", value)
    values["variables"] = dict(variables)
    return Theme(**values)  # type: ignore[arg-type]  # values holds only Theme's fields, each checked above


def _colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{key} must be a colour in quotes such as \"#4f9cd9\"")
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ThemeError(f"{key}: {value!r} is not a colour; use \"#rrggbb\", \"rgb(r,g,b)\" or a name") from exc
    return value
