"""Contract harness for the Bluesky plug-in: the REAL local PDS (.ci/services/bluesky.sh) for signing in, posts,
replies and reading our repo back, behind a loopback front that injects the faults and stands in for the AppView's
listNotifications (the PDS-only network has no AppView), and the chat stand-in behind the PDS's proxy."""

from __future__ import annotations

import asyncio
import json
import uuid

from agentconsole import secrets
from agentconsole.domain.models import Kind, OutboundRequest, Person
from agentconsole.domain.rows import AccountRow
from tests.connectors.bluesky_appview import AppViewFront, fixture_post
from tests.connectors.bluesky_chat import ChatStandIn
from tests.connectors.bluesky_pds import PLC_URL, User, new_user, require_pds
from tests.connectors.contract.conftest import GOOD, TAIL, Harness

CREATED_AT = "2025-11-25T08:00:00.000Z"
POISON_DATES = {"year_one": "0001-01-01T00:00:00Z", "overflow": "1e999", "nan": "NaN"}
_shared: dict[str, object] = {}


def _accounts() -> tuple[User, str, User, ChatStandIn]:
    """One brand (with a privileged app password), one customer and one chat stand-in per test process:
    the PDS allows 100 new accounts per 5 minutes, and every test's front is new anyway."""
    if not _shared:
        brand, customer = new_user("brand"), new_user("cust")
        _shared.update(brand=brand, password=brand.app_password(privileged=True), customer=customer,
                       chat=ChatStandIn().start())
    return _shared["brand"], _shared["password"], _shared["customer"], _shared["chat"]  # type: ignore[return-value]


class BlueskyHarness(Harness):
    name = "bluesky"
    not_applicable = {"send:window": "Bluesky has no idempotency key: a doubt is looked up in our own repo "
                                     "(authoritative) or put to the agent, never resent blindly"}
    deadline = 2.0

    def __init__(self, tmp_path, monkeypatch) -> None:
        super().__init__(tmp_path, monkeypatch)
        require_pds()
        self.brand, self.password, self.customer, self.chat = _accounts()
        self.front = AppViewFront()
        self.front.deadline = self.deadline
        self.parent: dict | None = None

    async def start(self) -> None:
        await self.front.start()
        self.monkeypatch.setenv(secrets.env_var_name("bsky"), self.password)

    async def stop(self) -> None:
        await self.front.stop()

    def account(self) -> AccountRow:
        settings = {"handle": self.brand.handle, "did": self.brand.did, "service": self.front.url,
                    "resolve_pds": False, "plc": PLC_URL, "chat_service": self.chat.did, "dms": True,
                    "deadline": self.deadline}
        return AccountRow(1, "bsky", "bluesky", "bluesky", "@" + self.brand.handle, "Brand", settings, False)

    async def seed(self, count: int) -> int:
        for _ in range(count):
            post = await asyncio.to_thread(self.customer.mention, self.brand, f"order {uuid.uuid4().hex[:6]}?")
            self.front.notify(post, self.customer)
        return count

    async def inject(self, fault: str) -> None:
        if fault == "auth":
            self.monkeypatch.setenv(secrets.env_var_name("bsky"), "wrong-app-password")
            return
        self.front.inject(fault, self.clock.now())

    def clear(self) -> None:
        self.front.clear()

    def position(self, cursor: str | None) -> object:
        state = json.loads(cursor) if cursor else {}
        return json.dumps(state.get("n"), sort_keys=True)

    async def seed_heard(self, count: int) -> int:
        """Real posts by the customer on the PDS, indexed by the front's stand-in for the AppView's search
        (the PDS-only network has none); and one real post that mentions the brand."""
        for i in range(count + 1):
            if i < count:
                text = f"my new mug from Juniper & Co {uuid.uuid4().hex[:6]}" if i % 2 else \
                    f"rainy sunday #junipermade {uuid.uuid4().hex[:6]}"
                post = await asyncio.to_thread(self.customer.post, text)
            else:
                post = await asyncio.to_thread(self.customer.mention, self.brand, "Juniper & Co #junipermade")
            self.front.index(post, self.customer)
        return count

    # ---------------------------------------------------------------- sends

    async def open_sends(self) -> None:
        self.parent = await asyncio.to_thread(self.customer.mention, self.brand, "where is my order?")

    def send_request(self, text: str) -> OutboundRequest:
        assert self.parent is not None
        return OutboundRequest(uuid.uuid4().hex, "reply", text, in_reply_to=self.parent["uri"],
                               recipient=Person(self.customer.did, "@" + self.customer.handle), kind=Kind.PUBLIC)

    async def fault_send(self, fault: str) -> None:
        self.front.send_fault = fault

    async def lookup_authoritative(self) -> None:
        pass  # our own repo, read from the PDS, is authoritative on every account

    def lookups_back(self) -> None:
        self.front.lookups_fail = False

    async def delivered(self, request: OutboundRequest) -> list[str]:
        """Our posts with this text in the brand's real repo on the PDS."""
        records = await asyncio.to_thread(self.brand.records)
        return [r["uri"] for r in records if r["value"].get("text") == request.text]

    # ---------------------------------------------------------------- poison

    async def seed_poison(self, poison: str, good: int) -> int:
        """Good mentions with one poisoned one among them, as the notification JSON (and bytes) say it;
        these posts exist only in the front's answer (no real PDS stores a lone surrogate)."""
        text, created = f"poisoned item: {TAIL}", CREATED_AT
        if poison in POISON_DATES:
            created = POISON_DATES[poison]
        elif poison == "surrogate":
            text = f"poisoned item \ud800 {TAIL}"  # json.dumps writes the lone surrogate as \ud800
        elif poison in ("invalid_utf8", "c1"):
            self.front.swaps[b"POISON-BYTES"] = b"\xff\xfe\xc3" if poison == "invalid_utf8" else b"\xc2\x9b2J"
            text = f"poisoned item POISON-BYTES {TAIL}"
        elif poison == "osc":
            text = f"poisoned item \x1b]0;unterminated title and {TAIL}"
        elif poison == "tags":
            text = f"poisoned item \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 {TAIL}"
        elif poison == "huge":
            text = "poisoned item " + "spam " * 240_000 + TAIL  # 1.2 M characters, under the size cap
        author = {"did": self.customer.did, "handle": self.customer.handle}
        for n in range(good + 1):
            body, at = (text, created) if n == good // 2 else (f"{GOOD} {n}: where is my order?", CREATED_AT)
            self.front.notify(fixture_post(self.customer.did, body, at), author)
        return good


def make_harness(tmp_path, monkeypatch, request) -> BlueskyHarness:
    return BlueskyHarness(tmp_path, monkeypatch)
