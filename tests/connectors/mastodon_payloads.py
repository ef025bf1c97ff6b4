"""Mastodon API payloads for the connector tests, built from the documentation's entity examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

DATA = Path(__file__).parent / "data" / "mastodon"
INSTANCE = "https://mastodon.social"
OWN_ID = "14715"  # trwnh, the account the documentation's examples are addressed to


def corpus(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


_STATUS = corpus("status.entity-example.json")


def account(id: str, acct: str, display_name: str = "", note: str = "") -> dict:
    """An Account entity with the documented attributes, shaped like the example's account."""
    entity = copy.deepcopy(_STATUS["account"])
    username = acct.split("@")[0]
    entity.update(id=id, username=username, acct=acct, display_name=display_name or username,
                  note=note or "<p></p>", url=f"{INSTANCE}/@{acct}", fields=[], emojis=[])
    return entity


OWN = account(OWN_ID, "trwnh", "trwnh")
CUSTOMER = account("971724", "zsc", "Zed")
REMOTE = account("297420", "haskal@cybre.space", "haskal")


def mention_of(acc: dict) -> dict:
    return {"id": acc["id"], "username": acc["username"], "url": acc["url"], "acct": acc["acct"]}


def status(id: str, author: dict, text: str = "hello", *, in_reply_to_id: str | None = None,
           visibility: str = "public", mentions: list[dict] | None = None, spoiler_text: str = "",
           content: str | None = None, created_at: str = "2019-11-23T07:49:01.940Z") -> dict:
    """A Status entity: the documentation's example with these fields replaced."""
    entity = copy.deepcopy(_STATUS)
    mentions = [mention_of(OWN)] if mentions is None else mentions
    if content is None:
        links = "".join(
            f'<span class="h-card"><a href="{m["url"]}" class="u-url mention">@<span>{m["username"]}'
            f'</span></a></span> ' for m in mentions)
        content = f"<p>{links}{text}</p>"
    entity.update(id=id, created_at=created_at, in_reply_to_id=in_reply_to_id,
                  in_reply_to_account_id=OWN_ID if in_reply_to_id else None, visibility=visibility,
                  spoiler_text=spoiler_text, sensitive=bool(spoiler_text), content=content,
                  uri=f"{INSTANCE}/users/{author['username']}/statuses/{id}",
                  url=f"{INSTANCE}/@{author['acct']}/{id}", account=author, mentions=mentions, card=None)
    return entity


def notification(id: str, st: dict, type: str = "mention") -> dict:
    entity = copy.deepcopy(corpus("notification.entity-example-0.json"))
    entity.update(id=id, type=type, created_at=st["created_at"], account=st["account"], status=st)
    entity["group_key"] = f"ungrouped-{id}"
    return entity


def conversation(id: str, accounts: list[dict], last_status: dict, unread: bool = True) -> dict:
    entity = copy.deepcopy(corpus("conversation.entity-example.json"))
    entity.update(id=id, unread=unread, accounts=accounts, last_status=last_status)
    return entity


def instance(max_characters: int = 500) -> dict:
    """An Instance (v2) entity, trimmed to the attributes the connector reads and their neighbours."""
    return {
        "domain": "mastodon.social",
        "title": "Mastodon",
        "version": "4.3.0",
        "source_url": "https://github.com/mastodon/mastodon",
        "configuration": {
            "urls": {"streaming": "wss://mastodon.social"},
            "accounts": {"max_featured_tags": 10},
            "statuses": {"max_characters": max_characters, "max_media_attachments": 4,
                         "characters_reserved_per_url": 23},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
    }
