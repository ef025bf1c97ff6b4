""":reload re-reads keys, themes, targets and notifications (never accounts); user themes load from TOML files,
a bad file is skipped or refused with the reason, and the palette lists the themes."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import TextArea

from agentconsole.config import ConfigError, load
from screens.inbox.conversation_list import ConversationList
from themes.user import load_user_themes, parse_theme, ThemeError

import pytest

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)
OCEAN = '''name = "ocean"
primary = "#2a7ab0"
background = "#0b1d2a"
dark = true
[variables]
sla-over = "#ff7060"
'''


def told(app) -> list[str]:
    return [n.message for n in app._notifications]


def test_theme_files_are_checked_key_by_key(tmp_path):
    assert parse_theme(OCEAN).variables["sla-over"] == "#ff7060"
    for text, problem in (('primary = "#000"\n', "name must be a string"),
                          ('name = "a"\n', "primary is missing"),
                          ('name = "a"\nprimary = "blurple"\n', "'blurple' is not a colour"),
                          ('name = "a"\nprimary = "#000"\nglow = 1\n', "unknown key 'glow'"),
                          ('name = "a"\nprimary = "#000"\n[variables]\nsla-ok = "nope"\n', "variables.sla-ok"),
                          ('name = "a"\nprimary = "#000"\ntext_alpha = 3\n', "text_alpha must be a number"),
                          ("name = \n", "not valid TOML")):
        with pytest.raises(ThemeError, match=problem):
            parse_theme(text)
    (tmp_path / "ocean.toml").write_text(OCEAN, encoding="utf-8")
    (tmp_path / "clash.toml").write_text('name = "agentconsole-dark"\nprimary = "#000"\n', encoding="utf-8")
    found = load_user_themes(tmp_path)
    assert found.names == ("ocean",)
    assert len(found.problems) == 1 and "is a built-in theme's" in found.problems[0]


async def test_a_user_theme_is_used_and_listed_and_a_bad_one_is_skipped_with_the_reason(seeded, tmp_path):
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "ocean.toml").write_text(OCEAN, encoding="utf-8")
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "blurple"\n', encoding="utf-8")
    (tmp_path / "config.toml").write_text('[ui]\ntheme = "ocean"\n', encoding="utf-8")
    app = seeded.app(config=load(tmp_path / "config.toml"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "ocean"
        assert app.get_css_variables()["sla-over"] == "#ff7060"
        assert any("Theme skipped" in m and "broken.toml" in m and "'blurple' is not a colour" in m
                   for m in told(app))
        await pilot.press("colon", *"theme")
        await settle(app, pilot)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Theme: ocean (now)" in text and "your theme, ocean.toml" in text
        assert "Theme: agentconsole-light" in text


def test_the_cli_check_knows_user_themes(tmp_path, monkeypatch):
    from screens.app import check_config

    (tmp_path / "config.toml").write_text('[ui]\ntheme = "ocean"\n', encoding="utf-8")
    config = load(tmp_path / "config.toml")
    with pytest.raises(ConfigError, match="unknown theme 'ocean'"):
        check_config(config)
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "ocean.toml").write_text(OCEAN.replace("#2a7ab0", "sea"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"skipped: .*ocean.toml: primary: 'sea' is not a colour"):
        check_config(config)
    (tmp_path / "themes" / "ocean.toml").write_text(OCEAN, encoding="utf-8")
    check_config(config)


async def reload(app, pilot) -> None:
    await pilot.press("colon", *"reload")
    await settle(app, pilot)
    await pilot.pause(0.3)
    assert isinstance(app.screen, CommandPalette)
    assert "Reload settings" in screen_text(app)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_reload_takes_new_keys_targets_and_themes_and_keeps_the_agent(seeded, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[agent]\ntimezone = "Europe/Berlin"\n', encoding="utf-8")
    app = seeded.app(config=load(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        dana = next(line for line in screen_text(app).splitlines() if "Dana Kim" in line)
        assert "▲" not in dana  # 42 minutes against the default 60
        (tmp_path / "themes").mkdir()
        (tmp_path / "themes" / "ocean.toml").write_text(OCEAN, encoding="utf-8")
        path.write_text('[agent]\ntimezone = "Asia/Tokyo"\n[ui]\ntheme = "ocean"\n[keys]\n"inbox.reply" = "w"\n'
                        '[targets]\npublic = 30\n[notify]\nterminal = "bell"\n', encoding="utf-8")
        await reload(app, pilot)
        said = [m for m in told(app) if m.startswith("Reloaded")]
        assert said == ["Reloaded config.toml: keys, theme, targets, notifications changed; 1 user theme(s); "
                        "[agent] take effect at the next start. Accounts and secrets are read at start only."]
        assert app.theme == "ocean"
        assert app.config.timezone == "Europe/Berlin"  # the agent's own settings wait for a restart
        assert app.notifications.notifier.policy.terminal == "bell"
        assert app.screen.query_one(ConversationList).rule.targets.by_kind["public"] == 30 * 60
        dana = next(line for line in screen_text(app).splitlines() if "Dana Kim" in line)
        assert "▲" in dana  # over the new 30-minute target
        await pilot.press("w")  # the new key for reply
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).has_focus


async def test_a_bad_file_on_reload_keeps_every_old_setting_and_says_why(seeded, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[targets]\npublic = 30\n', encoding="utf-8")
    app = seeded.app(config=load(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = app.config
        for text, problem in (('[targets]\npublic = "soon"\n', "line 2: [targets] public: must be a number"),
                              ('[keys]\n"inbox.reply" = "5"\n', "'5' is already the key of"),
                              ('[ui]\ntheme = "ocean"\n', "unknown theme 'ocean'"),
                              ("[targets\n", "not valid TOML")):
            path.write_text(text, encoding="utf-8")
            await reload(app, pilot)
            assert any(m.startswith("Reload: the old settings stay") and problem in m for m in told(app)), told(app)
            assert app.config is before
        await pilot.press("r")  # the old keys still work
        await settle(app, pilot)
        assert app.screen.query_one(TextArea).has_focus
