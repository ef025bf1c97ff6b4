"""Setting up a Facebook Page or an Instagram account with the business's own Meta app: log in in any
browser, paste the address it lands on (works on a remote shell), and keep a long-lived token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from agentconsole.channels.plugin import AccountDraft, OptionError, SecretSpec, SetupIO
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError, ConnectorError, PermanentError
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    import httpx

    from connectors.meta.connector import MetaConnector
    from connectors.meta.graph import Graph

FACEBOOK_SCOPES = ("pages_show_list", "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
                   "pages_read_user_content", "pages_manage_engagement", "pages_manage_posts")
# Without these the account cannot do its job; pages_manage_posts only stops shift and crisis posts.
FACEBOOK_REQUIRED = FACEBOOK_SCOPES[:-1]
INSTAGRAM_SCOPES = ("instagram_business_basic", "instagram_business_manage_messages",
                    "instagram_business_manage_comments")
DEFAULT_REDIRECT = "https://localhost/"


def login_url(values: Mapping[str, Any], instagram: bool) -> str:
    version = str(values.get("graph_version") or "v26.0")
    redirect = str(values.get("redirect_uri") or DEFAULT_REDIRECT)
    if instagram:
        query = {"client_id": values["app_id"], "redirect_uri": redirect, "response_type": "code",
                 "scope": ",".join(INSTAGRAM_SCOPES)}
        return "https://www.instagram.com/oauth/authorize?" + urlencode(query)
    query = {"client_id": values["app_id"], "redirect_uri": redirect, "response_type": "token",
             "scope": ",".join(FACEBOOK_SCOPES)}
    return f"https://www.facebook.com/{version}/dialog/oauth?" + urlencode(query)


def from_redirect(pasted: str, key: str) -> str:
    """The *key* ("access_token" or "code") from the address the browser landed on (query or fragment)."""
    parts = urlsplit(pasted.strip())
    for part in (parts.fragment, parts.query):
        found = parse_qs(part).get(key)
        if found and found[0].strip():
            return found[0].strip().removesuffix("#_")
    error = parse_qs(parts.query).get("error_description") or parse_qs(parts.fragment).get("error_description")
    raise AuthError(f"the pasted address holds no {key}" + (f": {one_line(error[0], 200)}" if error else ""))


class MetaSetup:
    """The set-up of one surface; the secret kept is the Page token (never expires) or the Instagram
    token record that the connector refreshes."""

    name_required = False

    def __init__(self, instagram: bool) -> None:
        self.instagram = instagram
        what = "Instagram" if instagram else "Page"
        self.secret = SecretSpec("token", f"{what} access token",
                                 "a long-lived Instagram token" if instagram else "a Page access token")

    def validate(self, values: Mapping[str, Any]) -> None:
        version = str(values.get("graph_version") or "v26.0")
        if not (version.startswith("v") and version[1:].replace(".", "").isdigit()):
            raise OptionError(f"--graph-version: {version!r} is not a Graph version such as v26.0")

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None:
        if not values.get("app_id"):
            raise OptionError("--app-id is required to log in (or give the token with --token-stdin)")
        io.say("Open this address in any browser, log in and allow access:")
        io.say(login_url(values, self.instagram))
        io.say("The browser then lands on an address that may not load; copy that whole address here.")
        pasted = io.ask("address: ")
        app_secret = io.ask("app secret (from the app's Basic settings; not kept): ", secret=True).strip()
        if not app_secret:
            raise AuthError("the app secret is needed to exchange the login for a long-lived token")
        from connectors.meta import tokens

        async with _graph(values, self.instagram) as (http, graph):
            if self.instagram:
                return await tokens.instagram_login(http, graph, values, from_redirect(pasted, "code"), app_secret)
            user_token = await tokens.long_lived_user_token(graph, values, from_redirect(pasted, "access_token"),
                                                            app_secret)
            return await tokens.page_token(graph, user_token, str(values.get("page") or ""), io)

    async def _connect(self, name: str, values: Mapping[str, Any], secret: str,
                       clock: Clock) -> tuple[MetaConnector, dict[str, Any], str]:
        from connectors.meta import build_connector

        settings = dict(values)
        connector = build_connector(self.instagram, settings, secret, clock, own_id=None)
        try:
            me = await connector.graph.get("/me", {"fields": "id,user_id,username,name"})
            if not isinstance(me, dict) or not me.get("id"):
                raise PermanentError("Meta did not say whose token this is")
            connector.own_id = str(me.get("user_id") or me["id"]) if self.instagram else str(me["id"])
            description = await connector.check()
        finally:
            await connector.close()
        return connector, me, description

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        connector, me, description = await self._connect(name, values, secret, clock)
        username = one_line(str(me.get("username") or ""), 200)
        display = one_line(str(me.get("name") or username), 200)
        settings = {k: v for k, v in values.items() if v not in (None, "")}
        settings["account_id"] = connector.own_id
        handle = f"@{username}" if username else display
        return AccountDraft(name=name or (username or f"page-{connector.own_id}"), handle=handle,
                            display_name=display, settings=settings, description=description)

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        return (await self._connect(name, values, secret, clock))[2]


class _graph:
    """A short-lived HTTP client and Graph for the set-up calls."""

    def __init__(self, values: Mapping[str, Any], instagram: bool) -> None:
        self.values, self.instagram = values, instagram

    async def __aenter__(self) -> tuple[httpx.AsyncClient, Graph]:
        import httpx

        from connectors.meta import graph_base
        from connectors.meta.graph import Graph
        from agentconsole.domain.clock import SystemClock

        self.http = httpx.AsyncClient(timeout=httpx.Timeout(20.0))
        platform = "Instagram" if self.instagram else "Facebook"
        return self.http, Graph(graph_base(self.values, self.instagram), "", SystemClock(), self.http,
                                platform=platform)

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


async def describe_check(connector: MetaConnector) -> str:
    """Log in, say who this is, and name every permission the token lacks (raising when one is needed)."""
    label = connector.surface.label
    if connector.surface.instagram:
        me = await connector.graph.get("/me", {"fields": "user_id,username,name"})
        who = one_line(str((me or {}).get("username") or ""), 80) if isinstance(me, dict) else ""
        left = connector.tokens.days_left()
        note = f"; token good for {left:.0f} more days, refreshed weekly" if left is not None else ""
        if connector.tokens.refresh_error:
            note += f"; last refresh failed: {connector.tokens.refresh_error}"
        return f"@{who} on Instagram: token valid{note}"
    me = await connector.graph.get(f"/{connector.own_id}", {"fields": "id,name"})
    name = one_line(str(me.get("name") or ""), 80) if isinstance(me, dict) else ""
    try:
        debug = await connector.graph.get("/debug_token", {"input_token": connector.graph.token})
        scopes = set((debug.get("data") or {}).get("scopes") or []) if isinstance(debug, dict) else set()
    except ConnectorError as exc:
        return f"{name} (Page {connector.own_id}) on {label}: token valid; permissions not readable ({exc})"
    missing = [s for s in FACEBOOK_SCOPES if s not in scopes]
    needed = [s for s in missing if s in FACEBOOK_REQUIRED]
    if needed:
        raise AuthError(f"re-authorise: the token for {name} lacks {', '.join(needed)}")
    optional = f"; without {', '.join(missing)}: no shift or crisis posts" if missing else ""
    return f"{name} (Page {connector.own_id}) on {label}: token valid, every permission granted{optional}" \
        if not missing else f"{name} (Page {connector.own_id}) on {label}: token valid{optional}"


def secret_record(token: str, refreshed_at: float, lasts: float) -> str:
    return json.dumps({"token": token, "refreshed_at": refreshed_at, "expires_at": refreshed_at + lasts})
