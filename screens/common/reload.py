""":reload and the theme list: re-read the config file and the user themes without a restart (never accounts or
secrets), and the palette entries for them."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from agentconsole import paths
from agentconsole.config import Config, ConfigError, load

log = logging.getLogger(__name__)

# What a reload takes over, each with its label for the notification.
RELOADED = (("keys", "keymap"), ("theme", "theme"), ("targets", "targets"), ("hours", "hours"),
            ("notifications", "notify_on"), ("notifications", "notify_terminal"),
            ("notifications", "notify_command"), ("editor", "editor"), ("over-target toasts", "notify_on_over"),
            ("over-target bell", "bell_on_over"))
# Read once at start (they name this console's agent row or built its connectors): a reload keeps them.
AT_START = (("agent", "agent_name"), ("agent", "agent_initials"), ("agent", "timezone"), ("demo", "demo_interval"),
            ("storage", "storage_url"))


def register_user_themes(app, config_path) -> tuple[str, ...]:
    """Register every good user theme with *app*; the problems of the skipped files, one line each."""
    from themes.user import load_user_themes, themes_dir

    found = load_user_themes(themes_dir(config_path))
    for theme in found.themes:
        app.register_theme(theme)
    app.user_theme_files = found.files
    return found.problems


def reload_settings(app) -> bool:
    """Re-read the config file and the themes; a bad file keeps every old setting and says why."""
    from screens.app import check_config
    from themes.user import load_user_themes, themes_dir

    old: Config = app.config
    path = old.path or paths.config_path()
    found = load_user_themes(themes_dir(path))
    try:
        new = load(path)
        check_config(new, user_themes=found.names, theme_problems=found.problems)
    except ConfigError as exc:
        log.warning("reload refused: %s", exc)
        app.notify(f"Reload: the old settings stay: {exc}", severity="error", timeout=20)
        return False
    restart = list(dict.fromkeys(f"[{table}]" for table, attr in AT_START if getattr(old, attr) != getattr(new, attr)))
    new = replace(new, **{attr: getattr(old, attr) for _, attr in AT_START})
    changed = list(dict.fromkeys(label for label, attr in RELOADED if getattr(old, attr) != getattr(new, attr)))
    for theme in found.themes:
        app.register_theme(theme)
    app.user_theme_files = found.files
    app.config = new
    app.session.reconfigure(new)
    app.set_keymap(new.keymap)
    if app.theme != new.theme:
        app.theme = new.theme
    elif new.theme in found.names:
        app.mutate_reactive(type(app).theme)  # its file may have changed: apply it again
    app.notifications.use(new)
    _apply_rules(app, new)
    said = f"Reloaded {path.name}: " + (", ".join(changed) + " changed" if changed else "nothing changed")
    said += f"; {len(found.names)} user theme(s)" if found.names else ""
    if found.problems:
        said += "; skipped " + "; ".join(found.problems)
    if restart:
        said += f"; {', '.join(restart)} take effect at the next start"
    said += ". Accounts and secrets are read at start only."
    log.info("%s", said)
    app.notify(said, severity="warning" if found.problems else "information", timeout=12)
    return True


def _apply_rules(app, config: Config) -> None:
    """The list and the pane judge waits by the new targets and hours; what is on screen reloads."""
    from agentconsole.response.rule import ResponseRule

    from screens.inbox.conversation_list import ConversationList
    from screens.inbox.conversation_pane import ConversationPane
    from screens.inbox.screen import DataChanged

    inbox = app.inbox_screen()
    if inbox is None:
        return
    for listing in inbox.query(ConversationList):
        listing.rule = ResponseRule(config.targets, config.hours)
    for pane in inbox.query(ConversationPane):
        pane.rule = ResponseRule(hours=config.hours)
    inbox.post_message(DataChanged())


class SettingsProvider(Provider):
    """Palette entries: reload the settings, and switch to any theme (the user's own listed with their file)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        commands: list[tuple[str, str, object]] = [
            ("Reload settings", ":reload · keys, themes, targets, hours, notifications (not accounts or secrets)",
             partial(reload_settings, app)),
        ]
        files = getattr(app, "user_theme_files", {})
        for name in sorted(app.available_themes):
            if name in files:
                where = f"your theme, {files[name].name}"
            elif name.startswith("agentconsole-"):
                where = "built in"
            else:
                continue  # Textual's own themes work in [ui] theme, but are not ours to list
            current = " (now)" if name == app.theme else ""
            commands.append((f"Theme: {name}{current}", where, partial(setattr, app, "theme", name)))
        return commands

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.removeprefix(":"))
        for title, help_text, run in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
