"""Setting an X account up: OAuth 2.0 with PKCE through a loopback redirect, or a pasted address on a
remote shell; the tokens are the account's secret."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentconsole.channels.plugin import AccountDraft, OptionError, SecretSpec, SetupIO
from agentconsole.domain.clock import Clock, SystemClock
from agentconsole.domain.errors import AuthError
from agentconsole.domain.sanitize import one_line
from connectors.x import DEFAULT_API, DEFAULT_PORT
from connectors.x.auth import Pkce, Tokens, authorize_url, code_from, exchange_code, redirect_uri, wait_for_redirect
from connectors.x.credits import parse_prices

if TYPE_CHECKING:
    import httpx

    from connectors.http import Http
    from connectors.x.connector import XConnector


async def _token_http(values: Mapping[str, Any]) -> tuple[httpx.AsyncClient, Http]:
    import httpx

    from connectors.http import Http

    client = httpx.AsyncClient(timeout=httpx.Timeout(20.0))
    return client, Http(client, "X", deadline=float(values.get("deadline") or 30))


class XSetup:
    """Approve agentconsole in the browser; the redirect (or the pasted address) brings the code, which
    is exchanged at once (X lets it live 30 s)."""

    secret = SecretSpec("token", "Tokens", "the X tokens (JSON as stored, or a bare access token)")
    name_required = False

    def __init__(self, clock: Clock | None = None, authorize_base: str | None = None) -> None:
        self.clock = clock or SystemClock()
        self.authorize_base = authorize_base

    def validate(self, values: Mapping[str, Any]) -> None:
        try:
            parse_prices(values.get("prices"))
        except ValueError as exc:
            raise OptionError(f"--prices: {exc}") from None

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None:
        client_id = str(values["client_id"])
        port = int(values.get("redirect_port") or DEFAULT_PORT)
        pkce = Pkce.new()
        kwargs = {"base": self.authorize_base} if self.authorize_base else {}
        url = authorize_url(client_id, port, pkce, **kwargs)
        io.say(f"In your X app's settings the callback address must be exactly {redirect_uri(port)}")
        io.say("Open this address in a browser and approve agentconsole:")
        io.say(url)
        if values.get("headless") or not io.interactive:
            io.say("Then copy the address the browser was sent to (it starts with http://127.0.0.1 and may "
                   "show an error page) and paste it here within 30 seconds:")
            code = code_from(io.ask("redirected address or code: "), pkce.state)
        else:
            io.say(f"Waiting for X to send the browser back to 127.0.0.1:{port} ...")
            code = await wait_for_redirect(port, pkce.state)
        client, http = await _token_http(values)
        try:
            tokens = await exchange_code(http, str(values.get("api") or DEFAULT_API), client_id, code,
                                         pkce.verifier, port, self.clock.now())
        finally:
            await client.aclose()
        if not tokens.refresh_token:
            io.say("X sent no refresh token (is offline.access allowed?): the account stops working in 2 hours.")
        io.say("For DMs in real time, give the app's Bearer token (Developer Console, Keys and tokens); "
               "without it DMs are polled once a minute.")
        bearer = io.ask("app Bearer token (Enter to skip): ", secret=True).strip()
        return dataclasses.replace(tokens, app_bearer=bearer).dump()

    async def _connect(self, values: Mapping[str, Any], secret: str, clock: Clock) -> tuple[XConnector, str]:
        from connectors.x.auth import TokenKeeper
        from connectors.x.connector import XConnector

        client, http = await _token_http(values)
        api = str(values.get("api") or DEFAULT_API)
        tokens = Tokens.parse(secret)

        async def refresher(old: Tokens) -> Tokens:
            # Nowhere to keep a new grant yet: refreshing here would spend the single-use refresh token.
            raise AuthError("these X tokens have expired; sign in again (run the set-up without --token-stdin)")

        keeper = TokenKeeper(tokens, None, refresher, clock)
        connector = XConnector(keeper, clock, client=client, api=api, prices=values.get("prices"),
                               deadline=float(values.get("deadline") or 30))
        try:
            description = await connector.check()
        finally:
            await client.aclose()
        return connector, description

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        connector, description = await self._connect(values, secret, clock)
        settings = {k: values[k] for k in ("client_id", "redirect_port", "poll_interval", "dm_interval", "prices",
                                           "api", "deadline") if values.get(k) not in (None, "", [])}
        settings.update({"user_id": connector.own_id, "username": connector.username})
        return AccountDraft(name=name or f"x-{connector.username}", handle=one_line("@" + connector.username, 200),
                            display_name=one_line(connector.own_name, 200), settings=settings,
                            description=description)

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        return (await self._connect(values, secret, clock))[1]
