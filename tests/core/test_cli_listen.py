"""`agentconsole account listen NAME`: showing, setting and switching off an account's listening terms."""

from __future__ import annotations

from tests.core.test_cli_account import console  # noqa: F401  (fixture)


def test_terms_are_set_shown_kept_in_the_account_and_switched_off(console) -> None:
    store = console.ctx.store()
    store.ensure_account("shop", "mastodon", "mastodon", settings={"instance": "https://m.example"})
    assert console("account", "listen", "shop") == 0
    assert "listens for: nothing (listening is off)" in console.out
    assert console("account", "listen", "shop", "--keywords", "Acme, Acme Shoes", "--hashtags", "#acme") == 0
    assert 'listens for: "Acme", "Acme Shoes", #acme, at the channel\'s own pace' in console.out
    assert console("account", "listen", "shop", "--hashtags", "acme,acmeshoes", "--interval", "600") == 0
    assert '"Acme", "Acme Shoes", #acme, #acmeshoes, every 10 min' in console.out  # the keywords stay
    settings = console.ctx.store().account(store.accounts()[0].id).settings
    assert settings["instance"] == "https://m.example"
    assert settings["listen"] == {"keywords": ["Acme", "Acme Shoes"], "hashtags": ["acme", "acmeshoes"],
                                  "interval": 600.0}
    assert console("account", "listen", "shop", "--off") == 0
    assert "nothing (listening is off)" in console.out
    assert "listen" not in console.ctx.store().accounts()[0].settings


def test_bad_terms_and_channels_that_cannot_listen_are_refused(console) -> None:
    store = console.ctx.store()
    store.ensure_account("shop", "mastodon", "mastodon")
    store.ensure_account("support", "email", "email")
    assert console("account", "listen", "shop", "--hashtags", "two words") == 2
    assert "letters, digits and _ only" in console.err
    assert console("account", "listen", "shop", "--keywords", "acme", "--interval", "5") == 2
    assert console("account", "listen", "support", "--keywords", "acme") == 2
    assert "email has no public posts" in console.err
    assert console("account", "listen", "nobody") == 1


def test_sync_once_runs_a_listening_round_for_the_accounts_that_listen(capsys) -> None:
    import re

    from agentconsole.cli import main

    assert main(["sync", "--once", "--demo"]) == 0
    out = capsys.readouterr().out
    heard = dict(re.findall(r"^(demo-[a-z]+): (\d+) heard \(named without @us\)$", out, re.M))
    assert set(heard) == {"demo-x", "demo-mastodon", "demo-bluesky"}  # not email, not Facebook
    assert all(int(n) > 0 for n in heard.values())
