"""Contract harness for the Instagram plug-in: the fake Graph of harness_facebook.py answering as
graph.instagram.com does for Instagram Login (media comments with replies, "text"/"timestamp" fields)."""

from __future__ import annotations

from tests.connectors.contract.conftest import NOW
from tests.connectors.contract.harness_facebook import FacebookHarness, FakeGraph, iso

IG_ACCOUNT = {"id": "17841400000000001", "user_id": "17841400000000001", "username": "cornerbakery",
              "name": "Corner Bakery"}


class FakeInstagram(FakeGraph):
    instagram = True

    def __init__(self, clock, deadline: float) -> None:
        super().__init__(clock, deadline)
        self.own = dict(IG_ACCOUNT)

    def add_comment(self, who, text, *, parent=None, comment_id=None, at=None):
        when = at if isinstance(at, str) else iso(at if at is not None else NOW - 3600 + self.counter)
        who = {"id": who["id"], "username": who.get("username") or who.get("name", "").replace(" ", ".").lower()}
        comment = {"id": comment_id or self.next_id(), "text": text, "from": who, "username": who["username"],
                   "timestamp": when}
        if parent:
            comment["parent"] = parent
        self.comments.append(comment)
        return comment

    def own_comments(self, text: str) -> list[str]:
        return [c["id"] for c in self.comments if c["from"]["id"] == self.own["id"] and c["text"] == text]

    def post_body(self) -> dict:
        tops = [c for c in reversed(self.comments) if "parent" not in c]
        body = [{**self.shown(top), "replies": {"data": [self.shown(c) for c in self.comments
                                                         if c.get("parent") == top["id"]]}} for top in tops]
        return {"id": "17900000000000001", "caption": "Croissant Friday", "timestamp": iso(NOW - 86400),
                "comments": {"data": body}}


class InstagramHarness(FacebookHarness):
    name = "instagram"
    fake_class = FakeInstagram


def make_harness(tmp_path, monkeypatch, request) -> InstagramHarness:
    return InstagramHarness(tmp_path, monkeypatch)
