"""Helpers for the real local Bluesky PDS + PLC started by .ci/services/bluesky.sh: accounts, app passwords, posts."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest

PDS_URL = os.environ.get("AGENTCONSOLE_BSKY_PDS", "http://localhost:2583")
PLC_URL = os.environ.get("AGENTCONSOLE_BSKY_PLC", "http://localhost:2582")
POST = "app.bsky.feed.post"


def require_pds() -> None:
    """Skip when the PDS is absent, unless CI asked for the servers (then its absence fails)."""
    try:
        healthy = httpx.get(f"{PDS_URL}/xrpc/_health", timeout=2).status_code == 200
    except httpx.HTTPError:
        healthy = False
    if not healthy:
        reason = f"no Bluesky PDS answers on {PDS_URL}; start it with: sudo .ci/services/bluesky.sh"
        if os.environ.get("AGENTCONSOLE_TEST_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def bluesky_pds() -> None:
    require_pds()


@dataclass
class User:
    """An account on the local PDS, driven directly (not the code under test)."""

    handle: str
    did: str
    password: str
    access: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def xrpc(self, method: str, nsid: str, **kwargs) -> dict:
        answer = httpx.request(method, f"{PDS_URL}/xrpc/{nsid}", headers=self.auth, timeout=10, **kwargs)
        assert answer.status_code == 200, f"{nsid}: {answer.status_code} {answer.text[:300]}"
        return answer.json() if answer.content else {}

    def app_password(self, privileged: bool) -> str:
        body = self.xrpc("POST", "com.atproto.server.createAppPassword",
                         json={"name": f"agentconsole-{uuid.uuid4().hex[:8]}", "privileged": privileged})
        return str(body["password"])

    def create(self, collection: str, record: dict, rkey: str | None = None) -> dict:
        body = {"repo": self.did, "collection": collection, "record": {"$type": collection, **record}}
        if rkey:
            body["rkey"] = rkey
        return self.xrpc("POST", "com.atproto.repo.createRecord", json=body)

    def post(self, text: str, *, reply_to: dict | None = None, root: dict | None = None,
             facets: list | None = None) -> dict:
        """A post; returns its record view {uri, cid, value}."""
        record: dict = {"text": text, "createdAt": now_iso()}
        if reply_to:
            record["reply"] = {"root": root or reply_to, "parent": reply_to}
        if facets:
            record["facets"] = facets
        created = self.create(POST, record)
        return {"uri": created["uri"], "cid": created["cid"], "value": {"$type": POST, **record}}

    def mention(self, brand: User, text: str, **kwargs) -> dict:
        """A post starting with @brand, with the mention facet the Bluesky app would add."""
        full = f"@{brand.handle} {text}"
        facet = {"index": {"byteStart": 0, "byteEnd": len(brand.handle.encode()) + 1},
                 "features": [{"$type": "app.bsky.richtext.facet#mention", "did": brand.did}]}
        return self.post(full, facets=[facet], **kwargs)

    def follow(self, other: User) -> None:
        self.create("app.bsky.graph.follow", {"subject": other.did, "createdAt": now_iso()})

    def allow_incoming(self, who: str) -> None:
        self.xrpc("POST", "com.atproto.repo.putRecord", json={
            "repo": self.did, "collection": "chat.bsky.actor.declaration", "rkey": "self",
            "record": {"$type": "chat.bsky.actor.declaration", "allowIncoming": who}})

    def records(self, collection: str = POST) -> list[dict]:
        out, cursor = [], None
        while True:
            params = {"repo": self.did, "collection": collection, "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            body = self.xrpc("GET", "com.atproto.repo.listRecords", params=params)
            out.extend(body["records"])
            cursor = body.get("cursor")
            if not body["records"] or not cursor:
                return out


def new_user(prefix: str) -> User:
    handle = f"{prefix}{uuid.uuid4().hex[:8]}.test"
    password = f"pw-{uuid.uuid4().hex}"
    answer = httpx.post(f"{PDS_URL}/xrpc/com.atproto.server.createAccount", timeout=20,
                        json={"handle": handle, "email": f"{handle}@example.test", "password": password})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return User(handle, body["did"], password, body["accessJwt"])


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def brand(bluesky_pds) -> User:
    return new_user("brand")


@pytest.fixture
def customer(bluesky_pds) -> User:
    return new_user("cust")
