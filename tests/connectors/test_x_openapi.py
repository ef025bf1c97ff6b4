"""Every X fixture is checked against the matching schema of X's published OpenAPI document (trimmed
copies in data/x/, source and commit inside them), so drift between the fixtures and the spec fails here."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

DATA = Path(__file__).parent / "data" / "x"
NEW, OLD = "openapi-2.167.trimmed.json", "openapi-2.159.trimmed.json"
# fixture -> the schemas it must satisfy: the spec as of v2.167 (post.fields, referenced_posts) and,
# for the payloads in the guides' older spelling, v2.159 as well.
CHECKED = {
    "mentions.json": [(NEW, "GetUsersMentionsResponse"), (OLD, "Get2UsersIdMentionsResponse")],
    "mentions_posts.json": [(NEW, "GetUsersMentionsResponse")],
    "dm_events.json": [(NEW, "GetDirectMessagesEventsResponse"), (OLD, "Get2DmEventsResponse")],
    "dm_events_posts.json": [(NEW, "GetDirectMessagesEventsResponse")],
    "create_post.json": [(NEW, "CreatePostsResponse"), (OLD, "TweetCreateResponse")],
    "create_dm.json": [(NEW, "CreateDirectMessagesByParticipantIdResponse")],
    "users_me.json": [(NEW, "GetUsersMeResponse"), (OLD, "Get2UsersMeResponse")],
    "user.json": [(NEW, "GetUsersByIdResponse"), (OLD, "Get2UsersIdResponse")],
    "own_posts.json": [(NEW, "GetUsersPostsResponse"), (OLD, "Get2UsersIdTweetsResponse")],
    "search_recent.json": [(NEW, "SearchPostsRecentResponse"), (OLD, "Get2TweetsSearchRecentResponse")],
    "like.json": [(NEW, "LikePostResponse"), (OLD, "UsersLikesCreateResponse")],
}
# The spec has no schema for these; they follow the documented examples named in data/x/README.md.
UNSCHEMED = {"dm_received.json", "chat_received.json", "rate_limited.json", "reply_forbidden.json",
             "credits_exhausted.json", "token.json"}


def validator(spec_file: str, name: str, patch=None) -> Draft202012Validator:
    spec = json.loads((DATA / spec_file).read_text())
    schemas = copy.deepcopy(spec["components"]["schemas"])
    if patch:
        patch(schemas)
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}})


def test_every_fixture_is_accounted_for() -> None:
    fixtures = {p.name for p in DATA.glob("*.json") if not p.name.startswith("openapi-")}
    assert fixtures == set(CHECKED) | UNSCHEMED


@pytest.mark.parametrize("fixture", sorted(CHECKED))
def test_fixture_matches_the_published_schema(fixture: str) -> None:
    body = json.loads((DATA / fixture).read_text())
    for spec_file, name in CHECKED[fixture]:
        errors = sorted(validator(spec_file, name).iter_errors(body), key=str)
        assert not errors, f"{fixture} vs {spec_file}#{name}: {errors[0].message} at {list(errors[0].path)}"


def test_the_activity_envelope_matches_the_published_schema() -> None:
    # The envelope is in the spec; its DM and chat payloads are not (the spec's payload oneOf has posts,
    # likes, follows and profiles only), so the payload is left to the documented example's shape.
    # The documented dm.sent/dm.received examples carry negative event_uuids ("-6850472171600526495")
    # that the spec's ActivityEventId pattern refuses: a known drift between docs and spec, so the
    # connector never reads event_uuid, and the check allows a leading minus there only.
    def without_payload(schemas):
        schemas["ActivityStreamResponse"]["properties"]["data"]["properties"].pop("payload")
        schemas["ActivityEventId"]["pattern"] = "^-?[0-9]{1,19}$"

    check = validator(NEW, "ActivityStreamResponse", without_payload)
    for fixture in ("dm_received.json", "chat_received.json"):
        body = json.loads((DATA / fixture).read_text())
        assert not list(check.iter_errors(body)), fixture
    strict = validator(NEW, "ActivityStreamResponse",
                       lambda s: s["ActivityStreamResponse"]["properties"]["data"]["properties"].pop("payload"))
    drift = list(strict.iter_errors(json.loads((DATA / "dm_received.json").read_text())))
    assert [e.message for e in drift] == ["'-6850472171600520001' does not match '^[0-9]{1,19}$'"]


def test_a_drifted_fixture_fails() -> None:
    body = json.loads((DATA / "mentions.json").read_text())
    body["data"][0]["id"] = 1996000000000000103  # X sends ids as strings
    assert list(validator(NEW, "GetUsersMentionsResponse").iter_errors(body))
    body = json.loads((DATA / "create_dm.json").read_text())
    del body["data"]["dm_event_id"]
    assert list(validator(NEW, "CreateDirectMessagesByParticipantIdResponse").iter_errors(body))


def test_the_rate_limit_body_is_made_of_v2_errors() -> None:
    check = validator(NEW, "Error")
    for error in json.loads((DATA / "rate_limited.json").read_text())["errors"]:
        assert not list(check.iter_errors(error))
