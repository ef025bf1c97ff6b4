"""X's OAuth 2.0 with PKCE: the authorisation address, the loopback redirect and the pasted one, the code
exchange, and tokens that refresh themselves, are stored before use and never reuse a spent refresh token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentconsole import secrets
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, TemporaryError
from connectors.http import Http
from connectors.x.auth import (SCOPES, Pkce, SecretStore, TokenKeeper, Tokens, authorize_url, code_from,
                               exchange_code, refresh_grant, wait_for_redirect)
from connectors.x.connector import XConnector
from tests.connectors.x_fake import BRAND, FakeX

NOW = 1_764_061_200.0


class MemoryStore:
    """The secret store as a dict entry; *fail* makes the next saves raise as a locked keyring does."""

    def __init__(self, tokens: Tokens) -> None:
        self.saved = tokens
        self.writes: list[Tokens] = []
        self.fail = False

    def load(self) -> Tokens:
        return self.saved

    def save(self, tokens: Tokens) -> None:
        if self.fail:
            raise secrets.SecretUnavailable("the keyring is locked")
        self.saved = tokens
        self.writes.append(tokens)


@pytest.fixture
async def fake():
    x = FakeX(FrozenClock(NOW))
    await x.start()
    yield x
    await x.stop()


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield Http(client, "X", deadline=2.0)


def keeper(fake: FakeX, http: Http, tokens: Tokens, store=None) -> TokenKeeper:
    async def refresher(old: Tokens) -> Tokens:
        return await refresh_grant(http, fake.url, old, fake.clock.now())

    return TokenKeeper(tokens, store, refresher, fake.clock)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_authorisation_address_asks_for_the_inbox_scopes_with_s256() -> None:
    pkce = Pkce.new()
    assert 43 <= len(pkce.verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce.challenge == digest
    query = parse_qs(urlsplit(authorize_url("client-1", 8765, pkce)).query)
    assert query["scope"] == [SCOPES] and "offline.access" in SCOPES and "dm.write" in SCOPES
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == [pkce.challenge]
    assert query["redirect_uri"] == ["http://127.0.0.1:8765/callback"] and query["state"] == [pkce.state]


def test_a_pasted_address_or_code_gives_the_code() -> None:
    assert code_from("http://127.0.0.1:8765/callback?state=s1&code=abc", "s1") == "abc"
    assert code_from("  abc  ", "s1") == "abc"
    with pytest.raises(AuthError, match="another sign-in"):
        code_from("http://127.0.0.1:8765/callback?state=evil&code=abc", "s1")
    with pytest.raises(AuthError, match="access_denied"):
        code_from("http://127.0.0.1:8765/callback?error=access_denied&state=s1", "s1")


async def test_the_loopback_listener_takes_the_redirect() -> None:
    port = free_port()
    listening = asyncio.Event()
    waiting = asyncio.create_task(wait_for_redirect(port, "s1", timeout=5, ready=listening.set))
    await listening.wait()
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"http://127.0.0.1:{port}/callback?state=s1&code=the-code")
    assert await waiting == "the-code"
    assert "connected to X" in page.text


async def test_the_code_is_exchanged_for_a_two_hour_grant(fake: FakeX, http: Http) -> None:
    tokens = await exchange_code(http, fake.url, "client-1", "good-code", "verifier", 8765, NOW)
    assert tokens.access_token in fake.access and tokens.refresh_token in fake.refresh
    assert tokens.expires_at == NOW + 7200 and tokens.client_id == "client-1"
    with pytest.raises(AuthError, match="refused the sign-in"):
        await exchange_code(http, fake.url, "client-1", "expired-code", "verifier", 8765, NOW)


async def test_a_due_token_is_refreshed_and_stored_before_it_is_used(fake: FakeX, http: Http) -> None:
    old = Tokens("access-1", "refresh-1", NOW + 60, "client-1")  # inside the refresh margin
    store = MemoryStore(old)
    keep = keeper(fake, http, old, store)
    token = await keep.access()
    assert token == "access-2" and store.saved.access_token == "access-2"
    assert store.saved.refresh_token == "refresh-2" and "refresh-1" not in fake.refresh  # spent
    fake.clock.advance(7200)
    assert await keep.access() == "access-3"  # the newest refresh token was used, never the spent one
    assert [t.refresh_token for t in store.writes] == ["refresh-2", "refresh-3"]


async def test_a_refresh_that_fails_midway_loses_nothing(fake: FakeX, http: Http) -> None:
    old = Tokens("access-1", "refresh-1", NOW - 1, "client-1")
    store = MemoryStore(old)
    keep = keeper(fake, http, old, store)
    fake.token_fault = "down"
    with pytest.raises(TemporaryError):
        await keep.access()
    assert keep.tokens == old and store.saved == old and store.writes == []  # the old grant is still ours
    assert await keep.access() == "access-2"  # and it works on the next try


async def test_a_grant_that_cannot_be_stored_is_kept_and_stored_later(fake: FakeX, http: Http) -> None:
    old = Tokens("access-1", "refresh-1", NOW - 1, "client-1")
    store = MemoryStore(old)
    store.fail = True
    keep = keeper(fake, http, old, store)
    assert await keep.access() == "access-2"
    assert keep.unsaved and store.saved == old  # in memory only, and said so
    store.fail = False
    assert await keep.access() == "access-2"
    assert store.saved.access_token == "access-2" and not keep.unsaved


async def test_a_grant_another_process_refreshed_is_adopted(fake: FakeX, http: Http) -> None:
    old = Tokens("access-1", "refresh-1", NOW - 1, "client-1")
    store = MemoryStore(Tokens("access-9", "refresh-9", NOW + 7200, "client-1"))
    keep = keeper(fake, http, old, store)
    assert await keep.access() == "access-9" and fake.issued == 1  # no refresh request went out


async def test_a_refused_token_is_refreshed_once_and_the_request_repeated(fake: FakeX, http: Http) -> None:
    fake.access.discard("access-1")  # revoked early, before its expiry
    keep = keeper(fake, http, Tokens("access-1", "refresh-1", NOW + 3600, "client-1"), MemoryStore(Tokens("")))
    async with httpx.AsyncClient() as client:
        connector = XConnector(keep, fake.clock, client=client, api=fake.url)
        assert (await connector.me())["id"] == BRAND["id"]
    assert keep.tokens.access_token == "access-2"


async def test_without_a_refresh_token_an_expired_grant_asks_to_sign_in_again(fake: FakeX, http: Http) -> None:
    keep = keeper(fake, http, Tokens("access-1", "", NOW - 1, "client-1"))
    with pytest.raises(AuthError, match="account add x"):
        await keep.access()


def test_tokens_from_an_environment_variable_are_never_written_over(monkeypatch) -> None:
    monkeypatch.setenv(secrets.env_var_name("shop"), Tokens("access-1", "refresh-1", NOW, "c").dump())
    store = SecretStore("shop", {})
    assert store.load().refresh_token == "refresh-1"
    written = []
    monkeypatch.setattr(secrets, "store_secret", lambda account, secret: written.append(secret))
    with pytest.raises(secrets.SecretUnavailable, match="OS keyring"):
        store.save(Tokens("access-2"))
    monkeypatch.delenv(secrets.env_var_name("shop"))
    store.save(Tokens("access-2", "refresh-2", NOW, "c"))
    assert Tokens.parse(written[0]).refresh_token == "refresh-2"  # one keyring entry, the whole grant


async def test_tokens_from_the_environment_refresh_in_memory_and_say_so(fake: FakeX, http: Http, monkeypatch) -> None:
    old = Tokens("access-1", "refresh-1", NOW - 1, "client-1")
    monkeypatch.setenv(secrets.env_var_name("shop"), old.dump())
    tries = []
    monkeypatch.setattr(secrets, "store_secret", lambda *a: tries.append(a))
    keep = keeper(fake, http, old, SecretStore("shop", {}))
    assert await keep.access() == "access-2" and await keep.access() == "access-2"
    assert "OS keyring" in keep.unsaved and tries == []  # never written over the variable, nor retried
