"""Account set-up with a business's own Meta app: the login address, the pasted redirect (headless),
user token -> long-lived -> Page token, Instagram's code -> 60-day token, and permissions named."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError
from connectors.meta import build_connector, facebook, instagram
from connectors.meta.setup import MetaSetup, describe_check, from_redirect, login_url

NOW = 1_764_061_200.0
FB = "https://graph.facebook.com/v26.0"


class Script:
    """A person at the terminal answering the set-up's questions in order."""

    interactive = True

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def ask(self, prompt: str, secret: bool = False) -> str:
        self.said.append(prompt)
        return self.answers.pop(0)


def test_the_pasted_address_gives_the_token_or_the_code():
    landed = "https://localhost/#access_token=EAAshort&data_access_expiration_time=1771837200&expires_in=5183"
    assert from_redirect(landed, "access_token") == "EAAshort"
    assert from_redirect("https://localhost/?code=AQBx-code#_", "code") == "AQBx-code"
    with pytest.raises(AuthError, match="denied"):
        from_redirect("https://localhost/?error=access_denied&error_description=Permissions+denied", "code")


def test_the_login_address_asks_for_the_documented_scopes():
    url = login_url({"app_id": "1234", "graph_version": "v26.0"}, instagram=False)
    assert url.startswith("https://www.facebook.com/v26.0/dialog/oauth?client_id=1234")
    assert "pages_messaging" in url and "response_type=token" in url
    ig = login_url({"app_id": "1234"}, instagram=True)
    assert ig.startswith("https://www.instagram.com/oauth/authorize?") and "instagram_business_manage_messages" in ig


@respx.mock
async def test_facebook_login_ends_with_the_pages_token():
    exchange = respx.get(f"{FB}/oauth/access_token").mock(return_value=httpx.Response(
        200, json={"access_token": "EAAlong", "token_type": "bearer", "expires_in": 5_183_944}))
    respx.get(f"{FB}/me/accounts").mock(return_value=httpx.Response(200, json={"data": [
        {"id": "111", "name": "Other Page", "access_token": "EAApage-other", "tasks": ["ANALYZE"]},
        {"id": "102030405060708", "name": "Corner Bakery", "access_token": "EAApage-bakery",
         "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]}]}))
    io = Script("https://localhost/#access_token=EAAshort&expires_in=5183", "app-secret", "2")
    token = await MetaSetup(False).obtain_secret({"app_id": "1234", "graph_version": "v26.0"}, io)
    assert token == "EAApage-bakery"
    assert exchange.calls[0].request.url.params["fb_exchange_token"] == "EAAshort"
    assert any("Corner Bakery" in said for said in io.said)


@respx.mock
async def test_a_page_without_the_messaging_task_is_refused():
    respx.get(f"{FB}/oauth/access_token").mock(return_value=httpx.Response(200, json={"access_token": "EAAlong"}))
    respx.get(f"{FB}/me/accounts").mock(return_value=httpx.Response(200, json={"data": [
        {"id": "111", "name": "Corner Bakery", "access_token": "EAApage", "tasks": ["ANALYZE"]}]}))
    with pytest.raises(AuthError, match="MESSAGING"):
        await MetaSetup(False).obtain_secret({"app_id": "1", "page": "111"}, Script("https://l/#access_token=a", "s"))


@respx.mock
async def test_instagram_login_keeps_the_token_with_its_dates():
    respx.post("https://api.instagram.com/oauth/access_token").mock(return_value=httpx.Response(
        200, json={"data": [{"access_token": "IGshort", "user_id": "17841400000000001", "permissions": "x"}]}))
    respx.get("https://graph.instagram.com/access_token").mock(return_value=httpx.Response(
        200, json={"access_token": "IGlong", "token_type": "bearer", "expires_in": 5_184_000}))
    secret = await MetaSetup(True).obtain_secret({"app_id": "1"}, Script("https://localhost/?code=AQB#_", "s"))
    record = json.loads(secret)
    assert record["token"] == "IGlong" and record["expires_at"] - record["refreshed_at"] == 5_184_000


@respx.mock
async def test_the_check_names_every_missing_permission():
    respx.get(f"{FB}/102030405060708").mock(return_value=httpx.Response(200, json={"id": "102030405060708",
                                                                                   "name": "Corner Bakery"}))
    respx.get(f"{FB}/debug_token").mock(return_value=httpx.Response(200, json={"data": {
        "type": "PAGE", "is_valid": True, "scopes": ["pages_show_list", "pages_read_engagement"]}}))
    connector = build_connector(False, {"account_id": "102030405060708"}, "EAApage", FrozenClock(NOW), own_id=None)
    try:
        with pytest.raises(AuthError) as raised:
            await describe_check(connector)
    finally:
        await connector.close()
    for name in ("pages_messaging", "pages_manage_metadata", "pages_read_user_content", "pages_manage_engagement"):
        assert name in str(raised.value)


def test_the_declarations_offer_what_the_issue_asks():
    assert facebook.option("graph_version").default == "v26.0" and instagram.option("posts").default == 10
    assert facebook.capabilities(None).public_post and not instagram.capabilities(None).public_post
    assert instagram.text_rule(instagram.channel).count("é") == 2  # Instagram DMs count bytes


async def test_a_pasted_page_token_completes_the_account(tmp_path, monkeypatch):
    from tests.connectors.contract.harness_facebook import FacebookHarness

    harness = FacebookHarness(tmp_path, monkeypatch)
    await harness.start()
    try:
        values = facebook.parse_options({"graph_url": harness.fake.server.url, "deadline": "2"})
        draft = await MetaSetup(False).complete("", values, "EAApage", harness.clock)
    finally:
        await harness.stop()
    assert draft.settings["account_id"] == "102030405060708" and draft.display_name == "Corner Bakery"
    assert "pages_manage_posts" in draft.description  # granted all but posting: said, not fatal
