"""Meta: a Facebook Page (Messenger, post comments, private replies, Page posts) and an Instagram
professional account (DMs, media comments), one Graph client, two declared plug-ins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentconsole.channels.contract import Connector
from agentconsole.channels.plugin import ChannelPlugin, Option, OptionType, SetupFlow, TextRule
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel, Kind
from agentconsole.domain.rows import AccountRow

if TYPE_CHECKING:
    import httpx

    from connectors.meta.connector import MetaConnector

DEFAULT_VERSION = "v26.0"
FACEBOOK_COMMENT_LIMIT = 8000  # characters in a Facebook comment
INSTAGRAM_COMMENT_LIMIT = 2200  # an Instagram comment (counted here in bytes, the DM's unit: never over)
MESSENGER_LIMIT = 2000
INSTAGRAM_DM_BYTES = 1000


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def capabilities_for(instagram: bool) -> Capabilities:
    return Capabilities(public_reply=True, direct_message=True, public_post=not instagram,
                        max_length=INSTAGRAM_COMMENT_LIMIT if instagram else FACEBOOK_COMMENT_LIMIT,
                        length_unit="bytes" if instagram else "characters", idempotent_send=False,
                        can_find_sent=True, find_sent_authoritative=True, reports_send_phases=True)


def graph_base(settings: Mapping[str, Any], instagram: bool) -> str:
    from connectors.meta.graph import FACEBOOK_HOST, INSTAGRAM_HOST

    host = str(settings.get("graph_url") or (INSTAGRAM_HOST if instagram else FACEBOOK_HOST)).rstrip("/")
    return f"{host}/{settings.get('graph_version') or DEFAULT_VERSION}"


def build_connector(instagram: bool, settings: Mapping[str, Any], secret: str, clock: Clock, *, own_id: str | None,
                    save: Callable[[str], object] | None = None,
                    client: httpx.AsyncClient | None = None) -> MetaConnector:
    from connectors.http import DEADLINE
    from connectors.meta.connector import FACEBOOK, INSTAGRAM, SEND_DEADLINE, MetaConnector
    from connectors.meta.tokens import TokenKeeper

    tokens = TokenKeeper.from_secret(secret, clock, refreshable=instagram, save=save)
    return MetaConnector(INSTAGRAM if instagram else FACEBOOK, own_id or str(settings.get("account_id") or ""),
                         tokens, clock, base=graph_base(settings, instagram), capabilities=capabilities_for(instagram),
                         client=client,
                         posts=int(settings.get("posts") or 10), poll_interval=float(settings.get("poll_interval") or 60),
                         deadline=float(settings.get("deadline") or DEADLINE),
                         send_deadline=float(settings.get("send_deadline") or settings.get("deadline") or SEND_DEADLINE))


def _builder(instagram: bool) -> Callable[[AccountRow, Clock], Connector]:
    def build(account: AccountRow, clock: Clock) -> MetaConnector:
        from agentconsole import secrets
        from agentconsole.domain.errors import AuthError, PermanentError

        settings = account.settings or {}
        if not settings.get("account_id"):
            raise PermanentError(f"account '{account.name}' has no Meta account id in its settings")
        try:
            secret = secrets.load_secret(account.name, settings)
        except secrets.SecretUnavailable as exc:
            raise AuthError(f"re-authorise: {exc}") from exc
        return build_connector(instagram, settings, secret, clock, own_id=None,
                               save=lambda value: secrets.store_secret(account.name, value))
    return build


def _setup(instagram: bool) -> SetupFlow:
    from connectors.meta.setup import MetaSetup

    return MetaSetup(instagram)


def _options(instagram: bool) -> tuple[Option, ...]:
    page = () if instagram else (
        Option("page", "Page", "the Page's id or name, when your login manages several", form=True),)
    return (
        Option("app_id", "App id", "your own Meta app's id (App Dashboard); needed to log in", form=True),
        *page,
        Option("graph_version", "Graph version", "the Graph API version to use", default=DEFAULT_VERSION),
        Option("posts", "Recent posts", "how many recent posts' comments are polled", OptionType.INT,
               default=10, minimum=1, maximum=100),
        Option("redirect_uri", "Redirect address", "the app's valid OAuth redirect address (login lands there)",
               default="https://localhost/"),
        Option("graph_url", "Graph address", "another Graph host (a proxy or a test server)", OptionType.URL),
        Option("deadline", "Deadline", "seconds one request may take in all (default 30)", OptionType.INT,
               minimum=1, maximum=600),
    )


facebook = ChannelPlugin(
    name="facebook", channels=(Channel.FACEBOOK,), title="Facebook Page",
    summary="a Facebook Page: Messenger, post comments, private replies (your own Meta app)",
    options=_options(False), build=_builder(False), capabilities=lambda account: capabilities_for(False),
    text={Channel.FACEBOOK: TextRule({Kind.PUBLIC: FACEBOOK_COMMENT_LIMIT, Kind.DM: MESSENGER_LIMIT})},
    setup=_setup(False), describe=lambda settings: str(settings.get("page") or settings.get("account_id") or ""))

instagram = ChannelPlugin(
    name="instagram", channels=(Channel.INSTAGRAM,), title="Instagram",
    summary="an Instagram professional account: DMs and comments (Instagram Login, your own Meta app)",
    options=_options(True), build=_builder(True), capabilities=lambda account: capabilities_for(True),
    text={Channel.INSTAGRAM: TextRule({Kind.PUBLIC: INSTAGRAM_COMMENT_LIMIT, Kind.DM: INSTAGRAM_DM_BYTES},
                                      utf8_bytes, "bytes")},
    setup=_setup(True), describe=lambda settings: str(settings.get("account_id") or ""))
