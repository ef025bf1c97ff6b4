"""Mastodon sending, storing fetched batches, and the account set-up command, over respx."""

from __future__ import annotations

import io
import json
import shlex
import sys

import httpx
import pytest
import respx

from agentconsole import secrets
from agentconsole.cli import account as cli_account
from agentconsole.domain.clock import FrozenClock
from agentconsole.domain.errors import AuthError, NotSent, OutcomeUnknown, PermanentError, TemporaryError
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from agentconsole.secrets import env_var_name
from agentconsole.storage.store import Store
from connectors import build
from connectors.mastodon import connector as mastodon
from tests.connectors.mastodon_payloads import CUSTOMER, INSTANCE, OWN, conversation, instance, notification, status

NOW = 1_764_147_600.0


@pytest.fixture
def api():
    with respx.mock(base_url=INSTANCE, assert_all_called=False) as router:
        router.get("/api/v1/accounts/verify_credentials", name="me").respond(json=OWN)
        router.get("/api/v2/instance", name="instance").respond(json=instance(500))
        router.get("/api/v1/conversations", name="conversations").respond(json=[])
        router.get("/api/v1/notifications/requests", name="requests").respond(json=[])
        router.post("/api/v1/statuses", name="post").respond(json=status("990", OWN, "ok", mentions=[]))
        yield router


@pytest.fixture
async def conn():
    connector = mastodon.MastodonConnector(INSTANCE, "tok", FrozenClock(NOW))
    yield connector
    await connector.close()


def sent(api) -> list[tuple[dict, str]]:
    return [(json.loads(c.request.content), c.request.headers.get("Idempotency-Key"))
            for c in api.routes["post"].calls]


# ---------------------------------------------------------------------------------- sending

async def test_a_retried_post_carries_the_same_idempotency_key(api, conn):
    api.routes["post"].mock(side_effect=[httpx.Response(503, text="Service Unavailable"),
                                         httpx.Response(200, json=status("991", OWN, mentions=[]))])
    request = OutboundRequest("outbox-17", "post", "Alice is on shift until 17:00")
    with pytest.raises(TemporaryError):
        await conn.send(request)
    result = await conn.send(request)
    assert result.external_id == "991" and result.thread_key == "991"
    bodies = sent(api)
    assert [key for _, key in bodies] == ["outbox-17", "outbox-17"]
    assert bodies[1][0] == {"status": "Alice is on shift until 17:00", "visibility": "public"}


@pytest.mark.parametrize("theirs, asked, expected", [
    ("direct", "public", "direct"),
    ("private", None, "private"),
    ("unlisted", "public", "unlisted"),
    ("public", None, "public"),
    ("public", "unlisted", "unlisted"),
])
async def test_a_reply_never_widens_the_customers_visibility(api, conn, theirs, asked, expected):
    api.get("/api/v1/statuses/900").respond(json=status("900", CUSTOMER, visibility=theirs))
    extra = {"visibility": asked} if asked else {}
    await conn.send(OutboundRequest("k", "reply", "on it", in_reply_to="900", thread_key="900", extra=extra))
    body, key = sent(api)[0]
    assert body == {"status": "@zsc on it", "in_reply_to_id": "900", "visibility": expected}
    assert key == "k"


async def test_a_dm_kind_reply_to_a_public_mention_goes_direct(api, conn):
    api.get("/api/v1/statuses/900").respond(json=status("900", CUSTOMER))
    result = await conn.send(OutboundRequest("k", "reply", "@zsc details please", in_reply_to="900",
                                             kind=Kind.DM))
    body, _ = sent(api)[0]
    assert body["visibility"] == "direct" and body["status"] == "@zsc details please"  # no double @
    assert result.thread_key == "dm:971724"


async def test_a_dm_mentions_the_recipient_and_joins_their_dm_thread(api, conn):
    customer = Person("297420", handle="@haskal@cybre.space", display_name="haskal")
    result = await conn.send(OutboundRequest("k9", "dm", "let's sort this out here", recipient=customer))
    body, key = sent(api)[0]
    assert body == {"status": "@haskal@cybre.space let's sort this out here", "visibility": "direct"}
    assert key == "k9" and result.thread_key == "dm:297420" and result.external_id == "990"


async def test_sends_the_server_refuses_are_permanent(api, conn):
    api.get("/api/v1/statuses/404").respond(404, json={"error": "Record not found"})
    with pytest.raises(PermanentError, match="404"):
        await conn.send(OutboundRequest("k", "reply", "hi", in_reply_to="404"))
    api.routes["post"].respond(422, json={"error": "Validation failed: Text character limit of 500 exceeded"})
    with pytest.raises(PermanentError, match="character limit"):
        await conn.send(OutboundRequest("k", "post", "x" * 600))
    with pytest.raises(PermanentError):
        await conn.send(OutboundRequest("k", "dm", "no one to send to"))


async def test_find_sent_spots_our_reply_on_the_server(api, conn):
    ours = status("995", OWN, "on it", in_reply_to_id="900", mentions=[])
    api.get("/api/v1/accounts/14715/statuses").respond(json=[ours])
    found = await conn.find_sent(OutboundRequest("k", "reply", "on it", in_reply_to="900"))
    assert found is not None and found.external_id == "995"
    assert await conn.find_sent(OutboundRequest("k", "reply", "other", in_reply_to="900")) is None
    with pytest.raises(PermanentError):  # a parentless post cannot be told from an identical older one
        await conn.find_sent(OutboundRequest("k", "post", "on it"))


async def test_a_dm_thread_with_only_our_messages_is_answered_as_a_dm(api, conn):
    customer = Person("971724", handle="@zsc@mastodon.social")
    result = await conn.send(OutboundRequest("k", "reply", "any news?", thread_key="dm:971724",
                                             recipient=customer, kind=Kind.DM))
    body, _ = sent(api)[0]
    assert body == {"status": "@zsc@mastodon.social any news?", "visibility": "direct"}
    assert result.thread_key == "dm:971724"


# ---------------------------------------------------------------------------------- storing

async def test_ingesting_a_fetched_batch_twice_stores_it_once(api, conn, tmp_path):
    mention = status("700", CUSTOMER, "where is my parcel?")
    dm = status("701", CUSTOMER, "order 4411", visibility="direct")
    api.get("/api/v1/notifications").respond(json=[notification("31", dm), notification("30", mention)])
    api.routes["conversations"].respond(json=[conversation("418450", [CUSTOMER], dm)])
    result = await conn.fetch(None)
    store = Store(tmp_path / "agentconsole.db", FrozenClock(NOW))
    account_id = store.ensure_account("shop@mastodon.social", "mastodon", "mastodon")
    first = store.ingest(account_id, result.messages, result.cursor)
    second = store.ingest(account_id, result.messages, result.cursor)
    assert (first.new_messages, second.new_messages, second.duplicates) == (2, 0, 2)
    assert store.cursor(account_id) == result.cursor
    kinds = sorted(c.kind for c in store.conversations_by_ids(first.conversation_ids).values())
    assert kinds == ["dm", "public"]
    store.close()


# ---------------------------------------------------------------------------------- account set-up

def test_from_account_reads_settings_and_the_secret(monkeypatch):
    row = AccountRow(1, "shop", "mastodon", "mastodon", "@trwnh@mastodon.social", "",
                     {"instance": "mastodon.social", "max_characters": 1000, "account_id": "14715"}, False)
    monkeypatch.setenv(env_var_name("shop"), "from-env")
    connector = build(row, FrozenClock(NOW))
    assert isinstance(connector, mastodon.MastodonConnector)
    assert connector.instance == INSTANCE and connector.capabilities.max_length == 1000
    assert connector.own_id == "14715"
    assert connector._client.headers["Authorization"] == "Bearer from-env"


def test_from_account_without_a_secret_asks_to_reauthorise():
    row = AccountRow(1, "shop", "mastodon", "mastodon", "", "", {"instance": INSTANCE}, False)
    with pytest.raises(AuthError, match="re-authorise: .*AGENTCONSOLE_SECRET_SHOP"):
        mastodon.from_account(row, FrozenClock(NOW))


class FakeCtx:
    def __init__(self, tmp_path, stdin: str) -> None:
        self.config = None
        self.clock = FrozenClock(NOW)
        self.out, self.err, self.stdin = io.StringIO(), io.StringIO(), io.StringIO(stdin)
        self.db = Store(tmp_path / "cli.db", self.clock)

    def store(self, demo: bool = False) -> Store:
        assert demo is False
        return self.db


def parse(*argv: str):
    import argparse
    parser = argparse.ArgumentParser()
    cli_account.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["account", "add", "mastodon", *argv])


@pytest.fixture
def keyring(monkeypatch):
    saved: dict[str, str] = {}

    def store_secret(account: str, secret: str) -> str:
        saved[account] = secret
        return "OS keyring (test)"
    monkeypatch.setattr(secrets, "store_secret", store_secret)
    return saved


def test_account_add_runs_the_oauth_flow_and_saves_the_account(api, tmp_path, keyring):
    apps = api.post("/api/v1/apps").respond(json={
        "id": "563419", "name": "agentconsole", "website": None, "scopes": ["read", "write"],
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
        "client_id": "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
        "client_secret": "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw"})
    token = api.post("/oauth/token").respond(json={
        "access_token": "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0", "token_type": "Bearer",
        "scope": "read write", "created_at": 1573979017})
    ctx = FakeCtx(tmp_path, "the-code\n")
    assert cli_account.run_add(parse("--instance", "mastodon.social", "--name", "shop"), ctx) == 0
    form = dict(x.split("=", 1) for x in apps.calls.last.request.content.decode().split("&"))
    assert form["scopes"] == "read+write" and form["redirect_uris"] == "urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob"
    exchange = token.calls.last.request.content.decode()
    assert "code=the-code" in exchange and "grant_type=authorization_code" in exchange
    assert f"{INSTANCE}/oauth/authorize?response_type=code&client_id=TWhM" in ctx.out.getvalue()
    assert keyring == {"shop": "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"}
    account = ctx.db.accounts()[0]
    assert (account.name, account.channel, account.connector) == ("shop", "mastodon", "mastodon")
    assert account.handle == "@trwnh@mastodon.social"
    assert account.settings == {"instance": INSTANCE, "account_id": "14715", "max_characters": 500}
    assert "token valid" in ctx.out.getvalue()
    ctx.db.close()


def test_account_add_with_a_token_command_keeps_the_command_not_the_token(api, tmp_path, keyring):
    ctx = FakeCtx(tmp_path, "")
    command = f"{shlex.quote(sys.executable)} -c \"print('cmd-token')\""
    args = parse("--instance", INSTANCE, "--token-command", command)
    assert cli_account.run_add(args, ctx) == 0
    assert api.routes["me"].calls.last.request.headers["Authorization"] == "Bearer cmd-token"
    account = ctx.db.accounts()[0]
    assert account.name == "trwnh@mastodon.social" and account.settings["password_command"] == command
    assert keyring == {}
    ctx.db.close()


def test_account_add_without_a_keyring_names_the_alternatives(api, tmp_path):
    # conftest selects keyring's fail backend: the real store_secret must refuse and explain.
    ctx = FakeCtx(tmp_path, "pasted-token\n")
    assert cli_account.run_add(parse("--instance", INSTANCE, "--token-stdin"), ctx) == 1
    assert "--token-command" in ctx.err.getvalue() and ctx.db.accounts() == []
    ctx.db.close()


def test_account_add_with_a_rejected_token_fails_cleanly(api, tmp_path, keyring):
    api.routes["me"].respond(401, json={"error": "The access token is invalid"})
    ctx = FakeCtx(tmp_path, "bad-token\n")
    assert cli_account.run_add(parse("--instance", INSTANCE, "--token-stdin"), ctx) == 1
    assert "re-authorise" in ctx.err.getvalue() and keyring == {} and ctx.db.accounts() == []
    assert cli_account.run_add(parse("--instance", "ftp://x"), ctx) == 2
    ctx.db.close()


# ---------------------------------------------------------------------------------- send outcomes

@pytest.mark.parametrize("answer, outcome", [
    (httpx.ConnectError("connection refused"), NotSent),  # the request never left
    (httpx.ReadTimeout("no answer"), OutcomeUnknown),  # it left; the status may exist
    (httpx.RemoteProtocolError("server disconnected"), OutcomeUnknown),
    (httpx.Response(500, text="oops"), OutcomeUnknown),  # a 5xx on a non-idempotent endpoint
    (httpx.Response(200, text="<html>"), OutcomeUnknown),  # accepted, but no readable answer
    (httpx.Response(422, json={"error": "Validation failed"}), PermanentError),
])
async def test_each_failed_post_maps_to_one_outcome_type(api, conn, answer, outcome):
    api.routes["post"].mock(side_effect=[answer])
    with pytest.raises(outcome):
        await conn.send(OutboundRequest("k", "post", "hello"))


async def test_a_failed_parent_lookup_is_not_sent(api, conn):
    api.get("/api/v1/statuses/900").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NotSent):
        await conn.send(OutboundRequest("k", "reply", "on it", in_reply_to="900"))
    assert sent(api) == []


async def test_find_sent_from_the_first_attempt_covers_posts_and_reads_back_far_enough(api, conn):
    older = status("980", OWN, "hello all", mentions=[], created_at="2025-11-26T08:00:00Z")
    ours = status("995", OWN, "hello all", mentions=[], created_at="2025-11-26T09:00:30Z")
    pages = api.get("/api/v1/accounts/14715/statuses")
    pages.mock(side_effect=[httpx.Response(200, json=[ours, older])])
    request = OutboundRequest("k", "post", "hello all", extra={"first_attempt_at": NOW})
    assert (await conn.find_sent(request)).external_id == "995"  # the identical older post is not it
    pages.mock(side_effect=[httpx.Response(200, json=[older])])
    assert await conn.find_sent(request) is None  # read back past the first attempt: not there
    newer = [status(str(999 - i), OWN, f"other {i}", mentions=[], created_at="2025-11-26T09:30:00Z")
             for i in range(40)]
    pages.mock(side_effect=[httpx.Response(200, json=newer)] * 10)
    with pytest.raises(TemporaryError):  # cannot reach the first attempt: no answer rather than "not there"
        await conn.find_sent(request)
