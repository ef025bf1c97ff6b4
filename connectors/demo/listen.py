"""The demo's listening: simulated brand talk that names the shop without its handle, on the demo's X,
Mastodon and Bluesky accounts, so a newcomer sees the Heard view fill like a real one."""

from __future__ import annotations

import json
import random
from typing import Any

from agentconsole.channels.contract import HeardPost, ListenResult, ListenTerms, Reply
from agentconsole.domain.models import Channel, InboundMessage, Kind
from agentconsole.domain.rows import AccountRow
from connectors.demo.connector import DemoConnector
from connectors.demo.data import ITEMS, PEOPLE, person_for

LISTENING_CHANNELS = (Channel.X, Channel.MASTODON, Channel.BLUESKY)
# What the demo accounts follow: the shop's name in two spellings and its hashtag.
DEMO_TERMS = {"keywords": ["Juniper & Co", "juniper and co"], "hashtags": ["junipermade"]}
SLOT = 1200.0  # seconds of clock time per chance of a heard post (about one an hour per account)
CHANCE = 0.35
BACKFILL = 8  # the first round brings the newest this many of the last two days
# Brand talk that does not tag the brand: {term} is the term it is found by, {item} a product.
TALK = (
    ("keyword", "Just unboxed my {item} from {term}, it is even nicer in person"),
    ("keyword", "has anyone ordered from {term} lately? wondering how long shipping takes"),
    ("keyword", "third week waiting on a {item} from {term}. not impressed tbh"),
    ("keyword", "{term} restocked the {item}!! run"),
    ("keyword", "my mum loved the {item} I got her from {term}"),
    ("hashtag", "new shelf, new {item} #{term}"),
    ("hashtag", "rainy sunday with my {item} #{term} #slowliving"),
    ("hashtag", "the {item} chipped after two washes #{term} :("),
)


def demo_settings(channel: Channel | str) -> dict[str, Any]:
    """The settings a demo account starts with: listening on for the channels the demo listens on."""
    return {"listen": dict(DEMO_TERMS)} if Channel(channel) in LISTENING_CHANNELS else {}


class ListeningDemoConnector(DemoConnector):
    """A demo account that also hears simulated brand talk (the Listens extra)."""

    liked: set[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.liked = set()

    listen_interval = 60.0

    async def like(self, external_id: str) -> None:
        """A like on the simulated platform (the LikesPosts extra): remembered, nothing leaves."""
        if not external_id.startswith(f"demo-{self.account.name}-H"):
            from agentconsole.domain.errors import PermanentError

            raise PermanentError("the demo knows no such post")
        self.liked.add(external_id)

    async def listen(self, terms: ListenTerms, cursor: str | None) -> ListenResult:
        now = self.clock.now()
        last = int(now // SLOT)
        state = _state(cursor)
        start = state + 1 if state is not None else last - int(2 * 86400 // SLOT)
        posts = [p for k in range(max(start, last - 500), last + 1) if (p := self._post(k, terms)) is not None]
        if state is None:
            posts = posts[-BACKFILL:]
        return ListenResult(posts, json.dumps({"slot": last}))

    def _post(self, k: int, terms: ListenTerms) -> HeardPost | None:
        rng = random.Random(f"{self.seed}/{self.channel.value}/heard/{k}")
        if rng.random() >= CHANCE:
            return None
        how, text = rng.choice(TALK)
        term = rng.choice(terms.hashtags if how == "hashtag" and terms.hashtags else terms.keywords or terms.hashtags)
        person = person_for(rng.choice(PEOPLE), self.channel)
        ext_id = f"demo-{self.account.name}-H{k}"
        body = text.format(term=term, item=rng.choice(ITEMS))
        message = InboundMessage(external_id=ext_id, thread_key=ext_id, kind=Kind.PUBLIC, author=person,
                                 text=body, sent_at=k * SLOT + rng.uniform(0, SLOT * 0.9))
        if message.sent_at > self.clock.now():
            return None
        on_x = self.channel == Channel.X
        return HeardPost(message, ("#" + term) if how == "hashtag" else term,
                         url=f"https://{self.channel.value}.example/{ext_id}",
                         reply=Reply.REFUSED if on_x else Reply.REPLY,
                         receives_dm=(rng.random() < 0.5) if on_x else None)


def _state(cursor: str | None) -> int | None:
    try:
        slot = json.loads(cursor or "null")
    except ValueError:
        return None
    value = slot.get("slot") if isinstance(slot, dict) else None
    return value if isinstance(value, int) else None


def listens(account: AccountRow) -> bool:
    return Channel(account.channel) in LISTENING_CHANNELS
