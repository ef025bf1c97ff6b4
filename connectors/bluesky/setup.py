"""Setting a Bluesky account up: a handle and an app password (one with DM access when DMs are wanted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentconsole.channels.plugin import AccountDraft, OptionError, SecretSpec, SetupIO
from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import AuthError
from agentconsole.domain.sanitize import one_line

if TYPE_CHECKING:
    from connectors.bluesky.connector import BlueskyConnector

HOW_TO = ("Create an app password in Bluesky: Settings > Privacy and security > App passwords > Add, and tick "
          "'Allow access to your direct messages' so agentconsole can read and send DMs.")


class BlueskySetup:
    """App passwords rather than atproto OAuth: a native client's OAuth session ends after two weeks,
    which would send a terminal user to a browser every fortnight."""

    secret = SecretSpec("app-password", "App password", "a Bluesky app password (xxxx-xxxx-xxxx-xxxx)")
    name_required = False

    def validate(self, values: Mapping[str, Any]) -> None:
        handle = str(values.get("handle") or "").lstrip("@")
        if not (handle.startswith("did:") or ("." in handle and " " not in handle)):
            raise OptionError(f"--handle: {handle!r} is not a handle (like shop.bsky.social) or a DID")
        if not str(values.get("chat_service") or "").startswith("did:"):
            raise OptionError("--chat-service: the chat service is named by its DID, e.g. did:web:api.bsky.chat")

    async def obtain_secret(self, values: Mapping[str, Any], io: SetupIO) -> str | None:
        io.say(HOW_TO)
        password = io.ask("app password: ", secret=True).strip()
        if not password:
            raise AuthError("no app password entered")
        return password

    async def _connect(self, values: Mapping[str, Any], secret: str, clock: Clock) -> tuple[BlueskyConnector, str]:
        from connectors.bluesky.client import Xrpc
        from connectors.bluesky.connector import BlueskyConnector

        xrpc = Xrpc(str(values["service"]), str(values["handle"]), secret, clock,
                    resolve_pds=bool(values.get("resolve_pds", True)), chat_service=str(values["chat_service"]),
                    plc=str(values["plc"]), deadline=float(values.get("deadline") or 30.0))
        connector = BlueskyConnector(xrpc, clock, dms=bool(values.get("dms", True)))
        try:
            description = await connector.check()
        except AuthError as exc:
            if "chat FAILED" in str(exc):
                raise AuthError(f"{exc}; or add the account with --no-dms to use it for posts only") from exc
            raise
        finally:
            await connector.close()
        return connector, description

    async def complete(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> AccountDraft:
        connector, description = await self._connect(values, secret, clock)
        session = connector.xrpc.session
        assert session is not None  # check() signed in
        settings = {key: values[key] for key in ("handle", "service", "dms", "chat_service", "plc", "resolve_pds")}
        settings.update(did=session.did, pds=connector.xrpc.pds)
        if values.get("deadline"):
            settings["deadline"] = values["deadline"]
        handle = session.handle or str(values["handle"]).lstrip("@")
        return AccountDraft(name=name or handle, handle=one_line("@" + handle, 200), display_name=one_line(handle, 200),
                            settings=settings, description=description)

    async def check(self, name: str, values: Mapping[str, Any], secret: str, clock: Clock) -> str:
        return (await self._connect(values, secret, clock))[1]
