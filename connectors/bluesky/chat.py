"""Bluesky chat through the PDS's proxy: can we DM this person, which convo, sending, and the log of what came in."""

from __future__ import annotations

import logging
from typing import Any

from agentconsole.domain.errors import PermanentError
from agentconsole.domain.models import DmAvailability
from connectors import shape
from connectors.bluesky.client import Xrpc
from connectors.bluesky.records import PROFILE, Did

log = logging.getLogger(__name__)

CONVO = shape.Obj({"id": shape.Str(200), "members": shape.ListOf(PROFILE, 1000)},
                  {"rev": shape.Str(200), "status": shape.Str(40), "kind": shape.Str(40)})
MESSAGE = shape.Obj({"id": shape.Str(200), "text": shape.Str(), "sender": shape.Obj({"did": Did()}),
                     "sentAt": shape.Str(100)}, {"rev": shape.Str(200)})
AVAILABILITY = shape.Obj({"canChat": shape.Anything()}, {"convo": CONVO})
LOG_PAGE = shape.Obj({"logs": shape.ListOf(shape.Anything(), 10_000)}, {"cursor": shape.Str(200)})
MESSAGES_PAGE = shape.Obj({"messages": shape.ListOf(shape.Anything(), 1000)}, {"cursor": shape.Str(200)})
CREATE_MESSAGE = "chat.bsky.convo.defs#logCreateMessage"
GROUP = "groupConvo"
PUBLIC_HINT = "Please send us a DM so we can look into this privately."
NOT_NOW = ("they accept DMs only from accounts they follow (or from no one), so a DM from us would be "
           "refused; ask them publicly to DM us instead")
# The chat service's refusals, said the way an agent can act on them.
REFUSALS = {
    "MessagesDisabled": "they have turned DMs off",
    "NotFollowedBySender": "they accept DMs only from accounts they follow",
    "BlockedActor": "one of the accounts blocks the other",
    "RecipientNotFound": "their chat settings do not let us reach them",
    "ConvoLocked": "the conversation is locked",
    "InvalidConvo": "the conversation no longer exists",
}


def refusal(exc: PermanentError) -> PermanentError:
    """A chat refusal in the agent's words (the error name stays in the message for the log)."""
    text = str(exc)
    for name, words in REFUSALS.items():
        if name in text:
            return PermanentError(f"Bluesky refused the DM: {words} ({name})")
    return exc


async def availability(xrpc: Xrpc, did: str) -> DmAvailability:
    """getConvoAvailability: whether a DM to *did* can go out now; the public hint when it cannot."""
    body = await xrpc.get("chat.bsky.convo.getConvoAvailability", {"members": did}, expect=AVAILABILITY,
                          chat=True)
    if body.get("canChat") is True:
        return DmAvailability(True)
    return DmAvailability(False, NOT_NOW, PUBLIC_HINT)


async def convo_for(xrpc: Xrpc, did: str) -> dict[str, Any]:
    body = await xrpc.get("chat.bsky.convo.getConvoForMembers", {"members": did},
                          expect=shape.Obj({"convo": CONVO}), chat=True)
    found: dict[str, Any] = body["convo"]
    return found


async def convo(xrpc: Xrpc, convo_id: str) -> dict[str, Any]:
    body = await xrpc.get("chat.bsky.convo.getConvo", {"convoId": convo_id}, expect=shape.Obj({"convo": CONVO}),
                          chat=True)
    found: dict[str, Any] = body["convo"]
    return found


async def accept(xrpc: Xrpc, convo_id: str) -> None:
    """A message request (from someone the brand does not follow) is accepted when the agent answers."""
    await xrpc.post("chat.bsky.convo.acceptConvo", {"convoId": convo_id}, chat=True)


async def send(xrpc: Xrpc, convo_id: str, text: str, facets: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"text": text}
    if facets:
        message["facets"] = facets
    sent: dict[str, Any] = await xrpc.post("chat.bsky.convo.sendMessage",
                                           {"convoId": convo_id, "message": message}, expect=MESSAGE, chat=True)
    return sent


async def messages(xrpc: Xrpc, convo_id: str, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    params = {"convoId": convo_id, "limit": "100"}
    if cursor:
        params["cursor"] = cursor
    body = await xrpc.get("chat.bsky.convo.getMessages", params, expect=MESSAGES_PAGE, chat=True)
    return [m for m in body["messages"] if shape.valid(m, MESSAGE)], body.get("cursor")


async def log_page(xrpc: Xrpc, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the account's chat log after *cursor*: the new-message entries, and the next cursor."""
    params = {"cursor": cursor} if cursor else None
    body = await xrpc.get("chat.bsky.convo.getLog", params, expect=LOG_PAGE, chat=True)
    created = []
    for entry in body["logs"]:
        if not isinstance(entry, dict) or entry.get("$type") != CREATE_MESSAGE:
            continue  # begun, accepted, reactions, deletions, …: nothing for the inbox
        if shape.valid(entry.get("message"), MESSAGE) and isinstance(entry.get("convoId"), str):
            created.append(entry)
        else:
            log.warning("Bluesky chat log: an unreadable new-message entry is skipped")
    return created, body.get("cursor") or cursor
