"""The reach rule at every clock boundary: private reply, waiting, 24 h window, human-agent tag, closed."""

from __future__ import annotations

import pytest

from agentconsole.domain.models import Channel, DmAvailability, InboundMessage, Kind, Person
from agentconsole.replies import reach
from agentconsole.replies.escalation import escalate, why_not
from agentconsole.replies.reach import DAY, HOUR, Facts, ReachState, assess, window
from agentconsole.domain.models import Capabilities

T0 = 1_764_000_000.0
FB, IG = Channel.FACEBOOK, Channel.INSTAGRAM
DANA = Person("c-17", "", "Dana Kim")


@pytest.mark.parametrize("channel", [FB, IG])
@pytest.mark.parametrize("age, state, can, mtype", [
    (0, ReachState.WINDOW, True, "RESPONSE"),
    (24 * HOUR - 1, ReachState.WINDOW, True, "RESPONSE"),
    (24 * HOUR, ReachState.HUMAN_AGENT, True, "MESSAGE_TAG"),
    (7 * DAY - 1, ReachState.HUMAN_AGENT, True, "MESSAGE_TAG"),
    (7 * DAY, ReachState.CLOSED, False, None),
    (30 * DAY, ReachState.CLOSED, False, None),
])
def test_the_window_at_each_boundary(channel, age, state, can, mtype):
    got = window(channel, T0, T0 + age)
    assert (got.state, got.can_send, got.messaging_type) == (state, can, mtype)
    if state == ReachState.HUMAN_AGENT:
        assert got.tag == "HUMAN_AGENT" and got.until == T0 + 7 * DAY
    if state == ReachState.WINDOW:
        assert got.until == T0 + 24 * HOUR and got.tag is None
    if state == ReachState.CLOSED:
        assert "closed after 7 days" in got.notice


def test_the_human_agent_tag_is_never_for_text_no_person_wrote():
    inside = window(FB, T0, T0 + 23 * HOUR, human=False)
    assert inside.can_send and inside.messaging_type == "RESPONSE"  # canned text inside 24 h is fine
    after = window(FB, T0, T0 + 25 * HOUR, human=False)
    assert not after.can_send and after.tag is None and "never a canned" in after.reason
    for source in ("canned", "away", "crisis"):
        assert not reach.messaging_for(FB, T0, T0 + 25 * HOUR, source).can_send
    assert reach.messaging_for(FB, T0, T0 + 25 * HOUR, "personal").tag == "HUMAN_AGENT"


def test_a_business_never_starts_a_thread():
    got = window(FB, None, T0)
    assert got.state == ReachState.CLOSED and not got.can_send


@pytest.mark.parametrize("age, state", [(0, ReachState.PRIVATE_REPLY), (7 * DAY - 1, ReachState.PRIVATE_REPLY),
                                        (7 * DAY, ReachState.CLOSED)])
def test_a_comment_has_one_private_reply_within_seven_days(age, state):
    got = assess(Facts(FB, Kind.PUBLIC, customer_at=T0), T0 + age)
    assert got.state == state and got.can_send == (state == ReachState.PRIVATE_REPLY)
    if state == ReachState.CLOSED:
        assert "7 days" in got.reason


def test_after_the_private_reply_the_thread_waits_for_the_customer():
    used = Facts(FB, Kind.PUBLIC, customer_at=T0, private_reply_at=T0 + 60)
    assert assess(used, T0 + 120).state == ReachState.WAITING  # the comment: used
    dm = Facts(FB, Kind.DM, customer_at=None, private_reply_at=T0 + 60)
    got = assess(dm, T0 + 120)
    assert got.state == ReachState.WAITING and not got.can_send
    assert got.notice == "waiting for the customer to reply in Messenger"
    assert assess(Facts(IG, Kind.DM, None, T0 + 60), T0 + 120).notice.endswith("in Instagram")


def test_the_customers_answer_opens_the_window_from_their_message():
    answered = Facts(FB, Kind.DM, customer_at=T0 + 3 * DAY, private_reply_at=T0, answered_at=T0 + 3 * DAY)
    assert assess(answered, T0 + 3 * DAY + 10).state == ReachState.WINDOW
    assert assess(answered, T0 + 4 * DAY).state == ReachState.HUMAN_AGENT
    assert assess(answered, T0 + 10 * DAY).state == ReachState.CLOSED
    comment = Facts(FB, Kind.PUBLIC, customer_at=T0, private_reply_at=T0, answered_at=T0 + 60)
    assert "continue in the DM" in assess(comment, T0 + 120).reason


def test_other_channels_are_open_unless_the_platform_says_no():
    assert assess(Facts(Channel.MASTODON, Kind.PUBLIC, T0), T0 + 30 * DAY).state == ReachState.OPEN
    no = DmAvailability(False, "they accept DMs only from accounts they follow", "please DM us")
    got = assess(Facts(Channel.X, Kind.PUBLIC, T0), T0, availability=no)
    assert got.state == ReachState.UNAVAILABLE and "follow" in got.reason and got.public_hint == "please DM us"
    assert assess(Facts(Channel.X, Kind.PUBLIC, T0), T0, availability=DmAvailability(True)).can_send


# ---------------------------------------------------------------- through the store

DM_OK = Capabilities(direct_message=True)


def comment(store, account, clock, ext="c1", age=600.0):
    store.ingest(account, [InboundMessage(ext, "post-1", Kind.PUBLIC, DANA, "where is my order?",
                                          clock.now() - age)])
    return store.conn.execute("SELECT id FROM conversations WHERE thread_key = 'post-1'").fetchone()[0]


def test_the_store_facts_follow_a_private_reply_and_the_answer(store, clock):
    account = store.ensure_account("shop-fb", "facebook", "facebook")
    cid = comment(store, account, clock)
    assert reach.for_conversation(store, cid).state == ReachState.PRIVATE_REPLY
    assert why_not(store, cid, DM_OK) is None
    esc = escalate(store, cid, dm_text="Hi Dana", public_text=None, agent_id=None, capabilities=DM_OK)
    assert reach.for_conversation(store, cid).state == ReachState.WAITING
    assert "one private reply" in why_not(store, cid, DM_OK)
    dm = reach.for_conversation(store, esc.dm_conversation_id)
    assert dm.state == ReachState.WAITING and "Messenger" in dm.notice
    clock.advance(3 * HOUR)
    dm_key = store.conn.execute("SELECT thread_key FROM conversations WHERE id = ?",
                                (esc.dm_conversation_id,)).fetchone()[0]
    store.ingest(account, [InboundMessage("m1", dm_key, Kind.DM, Person("psid-9"), "it's #4411", clock.now())])
    assert reach.for_conversation(store, esc.dm_conversation_id).state == ReachState.WINDOW
    clock.advance(DAY)
    assert reach.for_conversation(store, esc.dm_conversation_id).state == ReachState.HUMAN_AGENT
    assert not reach.for_conversation(store, esc.dm_conversation_id, human=False).can_send


def test_an_old_comment_cannot_be_moved_to_dm(store, clock):
    account = store.ensure_account("shop-ig", "instagram", "instagram")
    cid = comment(store, account, clock, age=7 * DAY + 5)
    assert "within 7 days" in why_not(store, cid, DM_OK)


def test_a_story_mention_opens_the_window(store, clock):
    account = store.ensure_account("shop-ig", "instagram", "instagram")
    store.ingest(account, [InboundMessage("sm1", "dm:igsid-4", Kind.DM, Person("igsid-4"),
                                          "[story mention]", clock.now() - HOUR)])
    cid = store.conn.execute("SELECT id FROM conversations WHERE thread_key = 'dm:igsid-4'").fetchone()[0]
    assert reach.for_conversation(store, cid).state == ReachState.WINDOW


def test_a_failed_private_reply_frees_the_comment_again(store, clock):
    from agentconsole.replies.outbox import Outbox

    account = store.ensure_account("shop-fb", "facebook", "facebook")
    cid = comment(store, account, clock)
    esc = escalate(store, cid, dm_text="Hi", public_text=None, agent_id=None, capabilities=DM_OK)
    Outbox(store).mark_failed(esc.dm_item, "551: person unavailable")
    assert reach.for_conversation(store, cid).state == ReachState.PRIVATE_REPLY


async def test_asking_a_connector_without_the_extra_gives_no_answer():
    assert await reach.ask(object(), DANA) is None

    class Says:
        async def dm_availability(self, person):
            return DmAvailability(False, "closed")

    assert (await reach.ask(Says(), DANA)).reason == "closed"


def test_the_send_guard_blocks_what_the_window_refuses():
    from agentconsole.replies import guard

    closed = window(FB, T0, T0 + 8 * DAY)
    verdict = guard.check("Hi Dana, here you go", FB, Kind.DM, reach=closed)
    assert verdict.blocks == (closed.reason,) and not verdict.allows(True)
    assert guard.check("Hi Dana", FB, Kind.DM, reach=window(FB, T0, T0 + HOUR)).allows(True)


def test_crisis_mode_skips_the_instagram_status_and_says_why(store, clock):
    from agentconsole.replies.escalation import crisis, status_skips

    fb = store.ensure_account("shop-fb", "facebook", "facebook")
    ig = store.ensure_account("shop-ig", "instagram", "instagram")
    store.ingest(fb, [InboundMessage("c1", "c1", Kind.PUBLIC, DANA, "down?", clock.now() - 60)])
    store.ingest(ig, [InboundMessage("g1", "g1", Kind.PUBLIC, Person("ig-1", "@mo"), "down??", clock.now() - 60)])
    ids = [r[0] for r in store.conn.execute("SELECT id FROM conversations ORDER BY id")]
    caps = {fb: Capabilities(direct_message=True, public_post=True),
            ig: Capabilities(direct_message=True, public_post=False)}
    assert status_skips(store, ids, caps) == [
        "shop-ig: Instagram has no text-only post (every post needs a photo or video), so it is skipped"]
    plan = crisis(store, ids, status_text="We're on it.", dm_texts={i: "Hi, we're on it" for i in ids},
                  agent_id=None, capabilities=caps)
    assert list(plan.status_items) == [fb] and [a for a, _ in plan.status_skipped] == [ig]
    assert len(plan.escalations) == 2  # both still get their private reply
