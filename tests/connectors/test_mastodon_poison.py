"""The Mastodon connector against recorded pages with one poisoned status: the rest is stored."""

from __future__ import annotations

import json

import httpx

from agentconsole.storage.store import Store
from connectors.mastodon.payload import INVALID_UTF8_NOTE, page_items
from tests.connectors.mastodon_payloads import CUSTOMER, notification, status
from tests.connectors.test_mastodon import NOW, api, clock, conn, iso  # noqa: F401 (fixtures)

MARK = "POISON-BYTES-HERE"


def page_bytes(items: list[dict], poison: bytes = b"\xff\xfe\xc3") -> bytes:
    """The page as the server's bytes, with invalid UTF-8 where MARK was."""
    return json.dumps(items, ensure_ascii=False).encode().replace(MARK.encode(), poison)


def test_page_items_keep_each_items_exact_bytes():
    items = [notification("1", status("11", CUSTOMER, "fine")),
             notification("2", status("12", CUSTOMER, f"bad {MARK} bytes"))]
    content = b"  [ " + page_bytes(items)[1:-1] + b" ]\n"
    parsed = page_items(content, "test")
    assert [p[0]["id"] for p in parsed] == ["1", "2"]
    assert all(raw in content for _, raw, _ in parsed)
    assert b"\xff\xfe\xc3" in parsed[1][1] and parsed[0][2] == [] and parsed[1][2] == [INVALID_UTF8_NOTE]
    assert "\ufffd" in parsed[1][0]["status"]["content"]


async def test_one_poisoned_status_does_not_fail_the_page(api, conn, clock, tmp_path):  # noqa: F811
    good_at = iso(NOW - 600)
    items = [
        notification("101", status("1001", CUSTOMER, "benign first", created_at=good_at)),
        notification("102", status("1002", CUSTOMER, f"broken {MARK} utf-8", created_at=good_at)),
        notification("103", status("1003", CUSTOMER, "year one", created_at="0001-01-01T00:00:00Z")),
        notification("104", status("1004", CUSTOMER, "infinite", created_at="1e999")),
        notification("105", status("1005", CUSTOMER, "not a number", created_at="NaN")),
        notification("106", status("1006", CUSTOMER, "year zero", created_at="0001-01-01T00:00:00+05:00")),
        notification("107", status("1007", CUSTOMER, "far future", created_at="9999-12-31T23:59:59Z")),
        notification("108", status("1008", CUSTOMER, "lone \\ud800 escape", created_at=good_at)),
        notification("109", status("1009", CUSTOMER, "benign last", created_at=good_at)),
    ]
    content = page_bytes(items).replace(b"\\\\ud800", b"\\ud800")
    api.get("/api/v1/notifications").mock(return_value=httpx.Response(
        200, content=content, headers={"Content-Type": "application/json; charset=utf-8"}))
    result = await conn.fetch(None)
    by_id = {m.external_id: m for m in result.messages}
    assert sorted(by_id) == [f"100{i}" for i in range(1, 10)]
    assert "\ufffd" in by_id["1002"].text and INVALID_UTF8_NOTE in by_id["1002"].parse_note
    assert b"\xff\xfe\xc3" in by_id["1002"].raw and by_id["1002"].raw in content

    store = Store(tmp_path / "m.db", clock)
    account = store.ensure_account("shop-m", "mastodon", "mastodon")
    report = store.ingest(account, result.messages, result.cursor)
    assert report.new_messages == 9 and store.cursor(account) == result.cursor
    rows = {r[0]: (r[1], r[2], r[3]) for r in store.conn.execute(
        "SELECT external_id, text, sent_at, parse_note FROM messages")}
    for sid in ("1003", "1004", "1005", "1006", "1007"):
        assert rows[sid][1] == NOW and "time of fetch" in rows[sid][2], sid
    assert rows["1001"][1] == NOW - 600 and rows["1001"][2] == ""
    assert "\ud800" not in rows["1008"][0] and "\ufffd" in rows["1008"][0]
    assert store.message_raw(store.messages(store.conversation_ids()[0])[0].id)  # raw bytes kept
    store.close()


async def test_an_edited_status_updates_the_message_and_says_so(api, conn, clock, tmp_path):  # noqa: F811
    original = status("2001", CUSTOMER, "where is my order?", created_at=iso(NOW - 900))
    route = api.get("/api/v1/notifications")
    route.mock(return_value=httpx.Response(200, json=[notification("201", original)]))
    store = Store(tmp_path / "e.db", clock)
    account = store.ensure_account("shop-m", "mastodon", "mastodon")
    first = await conn.fetch(None)
    store.ingest(account, first.messages, first.cursor)

    edited = status("2001", CUSTOMER, "where is my order #4521?", created_at=iso(NOW - 900))
    edited["edited_at"] = iso(NOW - 60)
    route.mock(return_value=httpx.Response(200, json=[notification("202", edited, type="update")]))
    second = await conn.fetch(first.cursor)
    assert [m.extra.get("edited_at") for m in second.messages] == [NOW - 60]
    report = store.ingest(account, second.messages, second.cursor)
    assert report.edited == 1
    [m] = store.messages(store.conversation_ids()[0])
    assert "#4521" in m.text and m.edited_at == NOW - 60
    assert store.conn.execute("SELECT count(*) FROM message_versions").fetchone()[0] == 1
    assert json.loads(store.message_raw(m.id))["type"] == "update"
    store.close()


async def test_an_update_of_a_status_not_addressed_to_us_is_ignored(api, conn):  # noqa: F811
    other = status("3001", CUSTOMER, "unrelated", mentions=[])
    other["edited_at"] = iso(NOW - 60)
    api.get("/api/v1/notifications").mock(return_value=httpx.Response(
        200, json=[notification("301", other, type="update")]))
    assert (await conn.fetch(None)).messages == []
