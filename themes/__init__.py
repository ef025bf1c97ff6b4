"""The console's Textual themes (dark, light, high contrast) and the app's own colour tokens."""

from __future__ import annotations

from textual.theme import Theme

DARK = "agentconsole-dark"
LIGHT = "agentconsole-light"
HIGH_CONTRAST = "agentconsole-high-contrast"

# App tokens every theme may override; the TCSS refers to them as $sla-ok, $channel-x ...
VARIABLE_DEFAULTS: dict[str, str] = {
    "sla-ok": "#5fb35f",
    "sla-near": "#e0a030",
    "sla-over": "#e05050",
    "channel-x": "#d0d0d0",
    "channel-facebook": "#5b8def",
    "channel-instagram": "#d6589f",
    "channel-mastodon": "#8c8dff",
    "channel-bluesky": "#3fa7f5",
    "channel-email": "#c0a060",
    "demo-badge": "#e0a030",
}

THEMES: tuple[Theme, ...] = (
    Theme(
        name=DARK,
        primary="#4f9cd9",
        secondary="#7aa6c2",
        accent="#e0a030",
        warning="#e0a030",
        error="#e05050",
        success="#5fb35f",
        foreground="#dcdcdc",
        background="#16181c",
        surface="#1e2126",
        panel="#2a2e35",
        dark=True,
        variables={"footer-key-foreground": "#e0a030"},
    ),
    Theme(
        name=LIGHT,
        primary="#1f5f99",
        secondary="#3d6f8f",
        accent="#a55d00",
        warning="#a55d00",
        error="#b42323",
        success="#2f7d32",
        foreground="#1c1c1c",
        background="#f7f7f5",
        surface="#ececea",
        panel="#dcdcd8",
        dark=False,
        variables={
            "sla-ok": "#2f7d32",
            "sla-near": "#a55d00",
            "sla-over": "#b42323",
            "channel-x": "#333333",
            "channel-facebook": "#1f4fb0",
            "channel-instagram": "#a02c6c",
            "channel-mastodon": "#4b3fb3",
            "channel-bluesky": "#0b63b0",
            "channel-email": "#7a5a10",
            "demo-badge": "#a55d00",
        },
    ),
    Theme(
        name=HIGH_CONTRAST,
        primary="#ffff00",
        secondary="#00ffff",
        accent="#ffff00",
        warning="#ffff00",
        error="#ff5555",
        success="#00ff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#1a1a1a",
        dark=True,
        luminosity_spread=0.0,
        text_alpha=1.0,
        variables={
            "sla-ok": "#00ff00",
            "sla-near": "#ffff00",
            "sla-over": "#ff5555",
            "channel-x": "#ffffff",
            "channel-facebook": "#00ffff",
            "channel-instagram": "#ff88ff",
            "channel-mastodon": "#aaaaff",
            "channel-bluesky": "#00ffff",
            "channel-email": "#ffff88",
            "demo-badge": "#ffff00",
        },
    ),
)

THEME_NAMES = tuple(theme.name for theme in THEMES)
