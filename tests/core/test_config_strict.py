"""Every config mistake is an error naming the file, the line and the key, and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole import config
from agentconsole.cli import main

CASES = [
    ("[nope]\n", 1, "[nope]: unknown table; allowed: [agent], [ui], [notify], [storage], [demo], [targets], [hours], [keys]"),
    ("ui = 1\n", 1, "[ui]: must be a table: write it as a [ui] header"),
    ("[ui]\nnotify_on_overr = true\n", 2, "[ui] notify_on_overr: unknown key; did you mean 'notify_on_over'? "
                                         "allowed in [ui]: theme, notify_on_over, bell_on_over, editor"),
    ("[targts]\n", 1, "[targts]: unknown table; did you mean 'targets'? allowed: [agent], [ui], [notify], [storage], [demo], "
                      "[targets], [hours], [keys]"),
    ("[ui]\ncolour = 'red'\n", 2,
     "[ui] colour: unknown key; allowed in [ui]: theme, notify_on_over, bell_on_over, editor"),
    ("[ui]\nnotify_on_over = \"yes\"\n", 2, "[ui] notify_on_over: must be true or false, not \"yes\""),
    ("[ui]\nbell_on_over = 1\n", 2, "[ui] bell_on_over: must be true or false, not 1"),
    ("[ui]\ntheme = 3\n", 2, "[ui] theme: must be a string (in quotes), not 3"),
    ("[agent]\nname = 'A'\ntimezone = \"Mars/Base\"\n", 3,
     "[agent] timezone: unknown timezone; use an IANA name such as \"UTC\", \"Europe/Berlin\" or "
     "\"America/New_York\", not \"Mars/Base\""),
    ("[agent]\ninitials = []\n", 2, "[agent] initials: must be a string (in quotes), not []"),
    ("[demo]\ninterval_seconds = \"x\"\n", 2,
     "[demo] interval_seconds: must be a number of seconds at least 0.5 and at most 86400, not \"x\""),
    ("[demo]\ninterval_seconds = 0\n", 2,
     "[demo] interval_seconds: must be a number of seconds at least 0.5 and at most 86400, not 0"),
    ("[demo]\ninterval_seconds = nan\n", 2,
     "[demo] interval_seconds: must be a number of seconds at least 0.5 and at most 86400, not nan"),
    ("[targets]\npublic = 1e400\n", 2,
     "[targets] public: must be a number of minutes more than 0 and at most 525600, not inf"),
    ("[targets]\ndm = -5\n", 2, "[targets] dm: must be a number of minutes more than 0 and at most 525600, not -5"),
    ("[targets]\ntweets = 5\n", 2, "[targets] tweets: unknown target kind; allowed: public, dm, email (minutes), "
                                   "or a [targets.<account>] table of them"),
    ("[targets]\n\n[targets.shop-x]\npublic = true\n", 4,
     "[targets.shop-x] public: must be a number of minutes more than 0 and at most 525600, not true"),
    ("[targets.shop-x]\nsms = 5\n", 2, "[targets.shop-x] sms: unknown target kind; allowed: public, dm, email"),
    ("[keys]\n\"inbox.reply\" = 5\n", 2,
     "[keys] inbox.reply: must be a key string in quotes such as \"r\", \"ctrl+r\" or \"r,ctrl+r\", not 5"),
    ("[keys]\n\"inbox.reply\" = \"ctrl r\"\n", 2,
     "[keys] inbox.reply: must be a key string in quotes such as \"r\", \"ctrl+r\" or \"r,ctrl+r\", "
     "not \"ctrl r\""),
    ("[hours]\nopen = \"25:00\"\n", 2, "[hours] open: hours.open must be a time like \"09:00\""),
    ("[hours.mail]\ntimezone = \"Nowhere/Land\"\n", 2, None),
    ("[hours]\nweekends = true\n", 2, "[hours] weekends: unknown key; allowed: days, open, "
                                      "close, timezone, holidays, or an [hours.<account>] table of them"),
]


@pytest.mark.parametrize("text, line, problem", CASES)
def test_each_mistake_names_file_line_and_key(tmp_path: Path, text: str, line: int, problem: str | None):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: ")
    if problem is not None:
        assert message == f"{path}, line {line}: {problem}"


def test_not_toml_at_all(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[ui\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"not valid TOML: .*line 1"):
        config.load(path)


def ui_check(tmp_path: Path, text: str) -> str:
    from screens.app import check_config

    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as caught:
        check_config(config.load(path))
    return str(caught.value).removeprefix(f"{path}, ")


def test_unknown_theme_names_the_themes(tmp_path: Path):
    assert ui_check(tmp_path, "[agent]\n[ui]\ntheme = \"neon\"\n") == (
        "line 3: [ui] theme: unknown theme 'neon'; allowed: agentconsole-dark, agentconsole-light, "
        "agentconsole-high-contrast, ansi-dark, ansi-light, atom-one-dark, atom-one-light, catppuccin-frappe, "
        "catppuccin-latte, catppuccin-macchiato, catppuccin-mocha, dracula, flexoki, gruvbox, monokai, nord, "
        "rose-pine, rose-pine-dawn, rose-pine-moon, solarized-dark, solarized-light, textual-dark, "
        "textual-light, tokyo-night")


def test_textuals_own_themes_are_allowed(tmp_path: Path):
    from screens.app import check_config

    path = tmp_path / "config.toml"
    path.write_text("[ui]\ntheme = \"nord\"\n", encoding="utf-8")
    check_config(config.load(path))


def test_a_key_that_takes_another_bindings_key(tmp_path: Path):
    assert ui_check(tmp_path, "[keys]\n\"inbox.reply\" = \"5\"\n") == (
        "line 2: [keys] inbox.reply: '5' is already the key of 'inbox.view_dms'; choose another key, or "
        "remap 'inbox.view_dms' too")


def test_an_unknown_binding_id_lists_the_ids(tmp_path: Path):
    message = ui_check(tmp_path, "[keys]\n\"inbox.rply\" = \"R\"\n")
    assert message.startswith("line 2: [keys] inbox.rply: unknown binding id; did you mean 'inbox.reply'? "
                              "allowed: ")
    assert "inbox.reply" in message and "app.quit" in message


def test_a_key_name_textual_does_not_know(tmp_path: Path):
    assert ui_check(tmp_path, "[keys]\n\"inbox.reply\" = \"ctrl+bogus_key\"\n") == (
        "line 2: [keys] inbox.reply: 'ctrl+bogus_key' is not a key name; write keys as Textual names "
        "such as \"r\", \"R\", \"ctrl+r\", \"f2\", \"slash\"")


def test_swapping_two_keys_is_allowed(tmp_path: Path):
    from screens.app import check_config

    path = tmp_path / "config.toml"
    path.write_text("[keys]\n\"inbox.reply\" = \"e\"\n\"inbox.done\" = \"r\"\n", encoding="utf-8")
    check_config(config.load(path))


def test_the_cli_reports_a_config_mistake_in_one_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text("[ui]\nnotify_on_over = \"yes\"\n", encoding="utf-8")
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(path))
    assert main(["sync", "--once", "--demo"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err == (f"agentconsole: error: {path}, line 2: [ui] notify_on_over: must be true or false, "
                   "not \"yes\"\n")


def test_every_option_is_in_the_readme_example():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml", 1)[1].split("```", 1)[0]
    for table, options in config.SCHEMA.items():
        for option in options:
            assert config.find_line(example, table, option.key), f"[{table}] {option.key} is not documented"
    for table in config.TABLES:
        assert f"[{table}]" in example


def test_the_readme_example_passes_the_ui_checks_too(tmp_path: Path):
    from screens.app import check_config

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(readme.split("```toml", 1)[1].split("```", 1)[0], encoding="utf-8")
    check_config(config.load(path))


@pytest.mark.parametrize("text, problem", [
    ("[ui]\ntheme = \"neon\"\n", "line 2: [ui] theme: unknown theme 'neon'; allowed: agentconsole-dark, "),
    ("[keys]\n\"inbox.reply\" = \"5\"\n", "line 2: [keys] inbox.reply: '5' is already the key of 'inbox.view_dms'"),
])
def test_every_command_refuses_what_only_the_ui_can_check(tmp_path, capsys, monkeypatch, text, problem):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(path))
    assert main(["sync", "--once", "--demo"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"agentconsole: error: {path}, {problem}") and err.count("\n") == 1
