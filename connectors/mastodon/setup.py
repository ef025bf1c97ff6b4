"""Setting a Mastodon account up: OAuth app registration and code exchange, or an existing token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from agentconsole.channels.plugin import AccountDraft, SecretSpec, SetupIO
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, TemporaryError
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    import httpx

    from connectors.mastodon.connector import MastodonConnector

SCOPES = "read write"
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
CLIENT_NAME = "agentconsole"
WEBSITE = "https://github.com/agentconsole"


async def _post_form(instance: str, path: str, data: dict[str, Any], client: httpx.AsyncClient | None = None) -> dict[str, Any]:
    import httpx

    from connectors.http import Http
    from connectors.mastodon.client import normalise_instance
    from connectors.mastodon.connector import USER_AGENT

    own = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0), headers={"User-Agent": USER_AGENT})
    try:
        answer = await Http(http, instance).request("POST", normalise_instance(instance) + path, data=data)
    finally:
        if own:
            await http.aclose()
    if answer.status in (400, 401, 403, 422):
        try:
            body = answer.json()
            detail = body.get("error_description") or body.get("error") or answer.text
        except (TemporaryError, AttributeError):
            detail = answer.text
        raise AuthError(f"{instance} refused {path}: {one_line(str(detail), 200)}")
    if answer.status >= 400:
        raise TemporaryError(f"{instance} answered {answer.status} on {path}")
    body = answer.json()
    if not isinstance(body, dict):
        raise TemporaryError(f"{instance} sent an unexpected answer on {path}")
    return body


async def register_app(instance: str, client: httpx.AsyncClient | None = None) -> tuple[str, str]:
    """Register agentconsole as an OAuth app on *instance*; returns (client_id, client_secret)."""
    app = await _post_form(instance, "/api/v1/apps", {
        "client_name": CLIENT_NAME, "redirect_uris": OOB_REDIRECT, "scopes": SCOPES, "website": WEBSITE},
        client)
    if not app.get("client_id") or not app.get("client_secret"):
        raise TemporaryError(f"{instance} registered no OAuth app")
    return str(app["client_id"]), str(app["client_secret"])


def authorize_url(instance: str, client_id: str) -> str:
    """Where the user approves access; the out-of-band redirect shows them a code to paste back."""
    from connectors.mastodon.client import normalise_instance

    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": OOB_REDIRECT,
                       "scope": SCOPES})
    return f"{normalise_instance(instance)}/oauth/authorize?{query}"


async def exchange_code(instance: str, client_id: str, client_secret: str, code: str, client: httpx.AsyncClient | None = None) -> str:
    """Trade the authorisation code for a user access token."""
    token = await _post_form(instance, "/oauth/token", {
        "grant_type": "authorization_code", "code": code.strip(), "client_id": client_id,
        "client_secret": client_secret, "redirect_uri": OOB_REDIRECT, "scope": SCOPES}, client)
    if not token.get("access_token"):
        raise AuthError(f"{instance} returned no access token")
    return str(token["access_token"])


class MastodonSetup:
    """OAuth when no token is given: register the app, show the approval address, take the code."""

    secret = SecretSpec("token", "Access token", "an access token with read and write scopes")
    name_required = False

    def validate(self, values: Mapping[str, Any]) -> None:
        return None  # the one option, the instance URL, is checked by its type

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None:
        instance = str(values["instance"])
        client_id, client_secret = await register_app(instance)
        io.say("Open this address in a browser, approve agentconsole, then paste the code shown:")
        io.say(authorize_url(instance, client_id))
        code = io.ask("code: ").strip()
        if not code:
            raise AuthError("no authorisation code entered")
        return await exchange_code(instance, client_id, client_secret, code)

    async def _connect(self, values: Mapping[str, Any], secret: str, clock: Clock) -> tuple[MastodonConnector, str]:
        from connectors.mastodon.connector import MastodonConnector

        connector = MastodonConnector(str(values["instance"]), secret, clock,
                                      deadline=float(values.get("deadline") or 30.0))
        try:
            description = await connector.check()
        finally:
            await connector.close()
        return connector, description

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        from connectors.mastodon.html import full_acct

        connector, description = await self._connect(values, secret, clock)
        acct = full_acct(connector.own_acct, connector.local_host)
        settings = {"instance": str(values["instance"]), "account_id": connector.own_id,
                    "max_characters": connector.capabilities.max_length}
        if values.get("deadline"):
            settings["deadline"] = values["deadline"]
        return AccountDraft(name=name or acct, handle=one_line("@" + acct, 200),
                            display_name=one_line(connector.own_display_name, 200), settings=settings,
                            description=description)

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        return (await self._connect(values, secret, clock))[1]
