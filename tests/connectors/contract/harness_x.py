"""Contract harness for the X plug-in: a loopback fake of X API v2 (tests/connectors/x_fake.py) serving
the documented payloads in tests/connectors/data/x/ (there is no X server to run)."""

from __future__ import annotations

import json
import uuid

from agentconsole import secrets
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from connectors.x.auth import Tokens
from tests.connectors.contract.conftest import GOOD, NOW, Harness
from tests.connectors.x_fake import BRAND, DANA, FIRST_ID, PARENT_ID, FakeX, mention

POISON_DATES = {"year_one": "0001-01-01T00:00:00Z", "overflow": "1e999", "nan": "NaN"}
NO_KEY = "X has no idempotency key: a doubt is looked up on our timeline, else put to the agent"


class XHarness(Harness):
    name = "x"
    not_applicable = {
        "send:window": NO_KEY,
        "send:authoritative": "X's timelines are eventually consistent, so not finding a post never proves it "
                              "was not made (the unknown-outcome cases cover the lookup)",
    }

    def __init__(self, tmp_path, monkeypatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        self.x = FakeX(self.clock, self.deadline)

    async def start(self) -> None:
        await self.x.start()
        self.tokens(Tokens("access-1", "", None, "client-1"))

    async def stop(self) -> None:
        await self.x.stop()

    def tokens(self, tokens: Tokens) -> None:
        self.monkeypatch.setenv(secrets.env_var_name("shop"), tokens.dump())

    def account(self) -> AccountRow:
        return AccountRow(1, "shop", "x", "x", "@" + BRAND["username"], BRAND["name"],
                          {"api": self.x.url, "user_id": BRAND["id"], "username": BRAND["username"],
                           "client_id": "client-1", "deadline": self.deadline}, False)

    async def seed(self, count: int) -> int:
        self.x.add_mentions(count)
        return count

    async def inject(self, fault: str) -> None:
        self.x.fault = fault

    def clear(self) -> None:
        self.x.fault = None

    def position(self, cursor: str | None) -> object:
        return (json.loads(cursor) if cursor else {}).get("since")

    async def seed_heard(self, count: int) -> int:
        self.x.add_heard(count)
        return count

    # ------------------------------------------------------------------ sends

    def send_request(self, text: str) -> OutboundRequest:
        return OutboundRequest(uuid.uuid4().hex, "reply", text, thread_key=PARENT_ID, in_reply_to=PARENT_ID,
                               recipient=Person(DANA["id"], "@" + DANA["username"]), kind=Kind.PUBLIC)

    async def fault_send(self, fault: str) -> None:
        if fault == "refused":
            # The access token is due and refreshing it fails: the send stops before its POST starts.
            self.tokens(Tokens("access-1", "refresh-1", NOW - 10, "client-1"))
            self.x.token_fault = "down"
        elif fault == "forgetful":
            self.x.send_fault = "drop"
            self.x.lookups_fail = True
        else:
            self.x.send_fault = fault

    def lookups_back(self) -> None:
        self.x.lookups_fail = False

    async def delivered(self, request: OutboundRequest) -> list[str]:
        return [p["id"] for p in self.x.posts if p["text"] == request.text]

    # ------------------------------------------------------------------ poison

    async def seed_poison(self, poison: str, good: int) -> int:
        text, created = "poisoned item: the rest", "2025-11-25T08:00:00.000Z"
        if poison in POISON_DATES:
            created = POISON_DATES[poison]
        elif poison == "surrogate":
            text = "poisoned item \ud800 the rest"
        elif poison in ("invalid_utf8", "c1"):
            self.x.swaps[b"POISON-BYTES"] = b"\xff\xfe\xc3" if poison == "invalid_utf8" else b"\xc2\x9b2J"
            text = "poisoned item POISON-BYTES the rest"
        elif poison == "osc":
            text = "poisoned item \x1b]0;unterminated title and the rest"
        elif poison == "tags":
            text = "poisoned item \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 the rest"
        elif poison == "huge":
            text = "poisoned item " + "spam " * 240_000 + "the rest"
        half = good // 2
        for n in range(good + 1):
            pid = str(FIRST_ID + len(self.x.mentions) + 1)
            body, at = (text, created) if n == half else (f"{GOOD} {n}: order {pid}?", "2025-11-25T08:00:00.000Z")
            self.x.mentions.append(mention(pid, body, created_at=at))
        return good


def make_harness(tmp_path, monkeypatch, request) -> XHarness:
    return XHarness(tmp_path, monkeypatch)
