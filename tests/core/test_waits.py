"""The wait line's figures per account: own targets, business hours, the next crossing and who crossed."""

from __future__ import annotations

import pytest

from datetime import datetime
from zoneinfo import ZoneInfo

from agentconsole.response import waits
from agentconsole.response.rule import ResponseRule
from agentconsole.response.hours import BusinessHours, HoursConfig
from agentconsole.domain.models import Channel, InboundMessage, Kind, Person
from agentconsole.response.sla import Targets

pytestmark = pytest.mark.both_backends

WHO = Person("p", "@p", "P")


def message(ext: str, kind: Kind, at: float) -> InboundMessage:
    return InboundMessage(ext, f"t-{ext}", kind, WHO, "hello", at)


def test_counts_over_target_per_kind_and_reports_the_next_crossing(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    mail = store.ensure_account("mail", Channel.EMAIL, "demo")
    now = clock.now()
    store.ingest(x, [message("a", Kind.PUBLIC, now - 3700), message("b", Kind.PUBLIC, now - 3000),
                     message("c", Kind.DM, now - 60)])
    store.ingest(mail, [message("d", Kind.EMAIL, now - 7200)])
    summary = waits.summarize(store, ResponseRule(Targets(), None, store.accounts()), now)
    assert (summary.waiting, summary.over) == (4, 1)
    assert summary.next_change == now + 600  # "b" crosses the public hour in ten minutes
    # The oldest is the longest wait: the email's two hours, although its target is a day.
    assert (summary.oldest_since, summary.oldest_channel) == (now - 7200, "email")
    tight = Targets(by_kind={"public": 2000, "dm": 3600, "email": 86400})
    assert waits.summarize(store, ResponseRule(tight, None, store.accounts()), now).over == 2


def test_an_accounts_own_target_overrides_its_kind(store, clock):
    x = store.ensure_account("x", Channel.X, "demo")
    vip = store.ensure_account("vip", Channel.X, "demo")
    now = clock.now()
    store.ingest(x, [message("a", Kind.PUBLIC, now - 1200)])
    store.ingest(vip, [message("b", Kind.PUBLIC, now - 1200)])
    targets = Targets(by_account={"vip": {"public": 900}})
    summary = waits.summarize(store, ResponseRule(targets, None, store.accounts()), now)
    assert summary.over == 1  # only the VIP account's 15-minute target is passed
    assert summary.next_change == now - 1200 + 3600
    assert waits.crossed(store, ResponseRule(targets, None, store.accounts()), now - 600, now) == [
        store.conn.execute("SELECT id FROM conversations WHERE account_id = ?", (vip,)).fetchone()[0]]


def test_business_hours_hold_the_wait_over_the_weekend(store, clock):
    berlin = ZoneInfo("Europe/Berlin")
    saturday_noon = datetime(2026, 11, 21, 12, tzinfo=berlin).timestamp()
    clock.set(saturday_noon)
    shop = store.ensure_account("shop-mail", Channel.EMAIL, "demo")
    x = store.ensure_account("x", Channel.X, "demo")
    friday_4pm = datetime(2026, 11, 20, 16, tzinfo=berlin).timestamp()
    store.ingest(shop, [message("m", Kind.EMAIL, friday_4pm)])
    store.ingest(x, [message("p", Kind.PUBLIC, saturday_noon - 5400)])
    hours = HoursConfig(by_account={"shop-mail": BusinessHours(timezone="Europe/Berlin")})
    targets = Targets(by_kind={"public": 3 * 3600, "dm": 3600, "email": 2 * 3600})
    rule = ResponseRule(targets, hours, store.accounts())
    summary = waits.summarize(store, rule, saturday_noon)
    # The email has waited 20 wall-clock hours but one open hour (Friday 16-17): not over its two
    # hours, and not the oldest wait either: X's hour and a half is longer.
    assert summary.over == 0
    assert (summary.oldest_since, summary.oldest_channel) == (saturday_noon - 5400, "x")
    assert summary.oldest_hours is None
    # The next change: X's post crosses its three hours at 13:30 today; the email only Monday at 10:00.
    assert summary.next_change == saturday_noon + 5400
    monday_9 = datetime(2026, 11, 23, 9, tzinfo=berlin).timestamp()
    monday_10 = datetime(2026, 11, 23, 10, tzinfo=berlin).timestamp()
    later = waits.summarize(store, rule, monday_9)
    assert later.over == 1 and later.next_change == monday_10  # X is over by now; the email at 10:00
    assert later.oldest_channel == "x"
    mail_rule = ResponseRule(targets, hours, [a for a in store.accounts() if a.id == shop])
    mail_only = waits.summarize(store, mail_rule, monday_9)
    assert (mail_only.waiting, mail_only.over) == (2, 0)  # X still waits, judged by no rule here
    assert (mail_only.oldest_since, mail_only.oldest_hours) == (friday_4pm, hours.by_account["shop-mail"])
    mail_id = store.conn.execute("SELECT id FROM conversations WHERE account_id = ?", (shop,)).fetchone()[0]
    assert mail_id not in waits.crossed(store, rule, saturday_noon, monday_10 - 1)
    assert mail_id in waits.crossed(store, rule, monday_10 - 1, monday_10)


def test_nothing_waiting(store, clock):
    store.ensure_account("x", Channel.X, "demo")
    summary = waits.summarize(store, ResponseRule(Targets(), None, store.accounts()), clock.now())
    assert summary == waits.WaitSummary()


@pytest.mark.sqlite_only  # reads SQLite's query plan
def test_the_waiting_pass_reads_only_the_index(store, clock):
    plan = " ".join(r[3] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN WITH g(account_id, kind, cutoff) AS (VALUES (1, 'public', 0.0))"
        " SELECT c.account_id, count(*) FROM conversations c INDEXED BY conv_waiting"
        " LEFT JOIN g ON g.account_id = c.account_id AND g.kind = c.kind"
        " WHERE c.status = 'open' AND c.needs_reply = 1 GROUP BY c.account_id, c.kind"))
    assert "COVERING INDEX conv_waiting" in plan


def test_the_list_puts_the_longest_wait_first_as_each_account_counts_it(store, clock):
    berlin = ZoneInfo("Europe/Berlin")
    monday_10 = datetime(2026, 11, 23, 10, tzinfo=berlin).timestamp()
    clock.set(monday_10)
    shop = store.ensure_account("shop-mail", Channel.EMAIL, "demo")
    x = store.ensure_account("x", Channel.X, "demo")
    store.ingest(shop, [message("m", Kind.EMAIL, datetime(2026, 11, 20, 16, tzinfo=berlin).timestamp())])
    store.ingest(x, [message("p", Kind.PUBLIC, monday_10 - 2.5 * 3600)])
    ids = {ext: store.conn.execute("SELECT conversation_id FROM messages WHERE external_id = ?",
                                   (ext,)).fetchone()[0] for ext in ("m", "p")}
    assert list(store.conversation_ids("waiting")) == [ids["m"], ids["p"]]  # Friday's email is older
    # In open hours the email has waited two hours (Fri 16-17, Mon 9-10), X's post two and a half.
    hours = HoursConfig(by_account={"shop-mail": BusinessHours(timezone="Europe/Berlin")})
    key = ResponseRule(Targets(), hours, store.accounts()).order_key(monday_10)
    assert list(store.conversation_ids("waiting", waiting_key=key)) == [ids["p"], ids["m"]]
    assert list(store.conversation_ids("all", waiting_key=key, limit=1)) == [ids["p"]]
    assert ResponseRule(Targets(), None, store.accounts()).order_key(monday_10) is None
