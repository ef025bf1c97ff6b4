"""Adding an X account from a remote shell: the headless path prints the address, takes the pasted
redirect, exchanges the code at once, and the account learns who it is."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from agentconsole.channels import registry
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError
from connectors.x.auth import Tokens
from connectors.x.setup import XSetup
from tests.connectors.x_fake import BRAND, FakeX

NOW = 1_764_061_200.0


class PasteIO:
    """A remote shell: what is said is kept; the answer is the redirect the person copies from the browser."""

    interactive = False

    def __init__(self, answer) -> None:
        self.said: list[str] = []
        self.answer = answer

    def say(self, text: str) -> None:
        self.said.append(text)

    def ask(self, prompt: str, secret: bool = False) -> str:
        if "Bearer" in prompt:
            return "app-bearer-1"
        url = next(s for s in self.said if s.startswith("https://x.com/i/oauth2/authorize?"))
        return self.answer(parse_qs(urlsplit(url).query))


@pytest.fixture
async def fake():
    x = FakeX(FrozenClock(NOW))
    await x.start()
    yield x
    await x.stop()


def values(fake: FakeX, **more):
    plugin = registry.get("x")
    return plugin.parse_options({"client_id": "client-1", "api": fake.url, "headless": "yes", **more})


async def test_the_headless_path_takes_the_pasted_address(fake: FakeX) -> None:
    io = PasteIO(lambda q: f"http://127.0.0.1:8765/callback?state={q['state'][0]}&code=good-code")
    setup = XSetup(FrozenClock(NOW))
    secret = await setup.obtain_secret(values(fake), io)
    tokens = Tokens.parse(secret)
    assert tokens.access_token in fake.access and tokens.refresh_token and tokens.expires_at == NOW + 7200
    assert tokens.app_bearer == "app-bearer-1"
    assert any("http://127.0.0.1:8765/callback" in s for s in io.said)
    draft = await setup.complete("", values(fake), secret, FrozenClock(NOW))
    assert draft.handle == "@JuniperCoShop" and draft.settings["user_id"] == BRAND["id"]
    assert draft.name == "x-JuniperCoShop" and draft.display_name == "Juniper & Co"
    assert "token valid" in draft.description and "spent today" in draft.description


async def test_a_pasted_address_from_another_attempt_is_refused(fake: FakeX) -> None:
    io = PasteIO(lambda q: "http://127.0.0.1:8765/callback?state=old&code=good-code")
    with pytest.raises(AuthError, match="another sign-in"):
        await XSetup(FrozenClock(NOW)).obtain_secret(values(fake), io)
    assert fake.issued == 1  # nothing was exchanged


def test_bad_price_overrides_are_refused_when_the_options_are_read(fake: FakeX) -> None:
    from agentconsole.channels.plugin import OptionError

    with pytest.raises(OptionError, match="--prices"):
        values(fake, prices="owned_read=0.001,lunch=3")
    assert values(fake, prices="owned_read=0.002")["prices"] == ["owned_read=0.002"]
