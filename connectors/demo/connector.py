"""The embedded demo connector: a small shop's simulated support traffic on one channel, all local."""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
import re
from dataclasses import dataclass

from agentconsole.domain.clock import Clock
from agentconsole.domain.errors import PermanentError
from agentconsole.replies.lengths import measure
from agentconsole.domain.models import (Channel, Direction, FetchResult, InboundMessage, Kind,
                                 OutboundRequest, Person, SendResult)
from agentconsole.domain.rows import AccountRow

from connectors.demo import capabilities_for
from connectors.demo.ids import _cursor, _dm_key, _first_name, _parse_cursor
from connectors.demo.shop_day import BUSIEST_INTERVAL, ELSEWHERE_SIGNATURE, ELSEWHERE_SLOTS, ShopDay
from connectors.demo.data import (CITIES, CLOSINGS, DAYS, DEMO_ACCOUNTS, DM_ANSWERS, FEATURED, GARMENTS,
                        GENERIC_NUDGES, HOSTILE, ITEMS, PEOPLE, PLACES, SCENARIOS, SCENARIOS_BY_TOPIC,
                        SHOP, SIZES, WARES, Persona, Scenario, person_for)

__all__ = ["DEMO_ACCOUNTS", "DemoConnector", "from_account"]

log = logging.getLogger(__name__)

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
BACKFILL_DAYS = 5
DEFAULT_SEED = 2026
DEFAULT_INTERVAL = 6.0
MAX_PER_FETCH = 20
# After a long gap (the console was closed for a day) only the newest this-many simulated messages
# are delivered: the demo shows a lively inbox, not a flood of thousands of catch-up messages.
MAX_BACKLOG = 60
FOLLOW_UP_RATE = 0.45
BACKFILL_FOLLOW_UP_RATE = 0.05
ANSWER_RATE = 0.7
DM_RATE = {Channel.FACEBOOK: 0.5, Channel.EMAIL: 0.0}
MAIL_DOMAIN = "demo.juniper-co.example"


@dataclass(slots=True)
class _Thread:
    """What the simulation remembers about a conversation to continue it believably."""

    key: str
    kind: Kind
    person: Person
    scenario: Scenario
    fill: dict[str, str]
    subject: str = ""
    opener: str = ""
    reply: str = ""
    root_id: str = ""
    answered: bool = False
    started: bool = False
    count: int = 0


def from_account(account: AccountRow, clock: Clock) -> DemoConnector:
    """The demo connector for *account*. Settings may carry "seed" (int); "interval" (seconds) gives a
    flat load of one message per interval on average (tests, benchmarks); without it the traffic
    follows a small shop's day (shop_day: busy hours, quiet nights, some customers answered from the
    platform's own app), in the "timezone" setting or the machine's."""
    settings = account.settings or {}
    day = None if "interval" in settings else ShopDay(settings.get("timezone"))
    from connectors.demo.listen import ListeningDemoConnector, listens

    cls = ListeningDemoConnector if listens(account) else DemoConnector
    return cls(account, clock, seed=int(settings.get("seed", DEFAULT_SEED)),
                         interval=float(settings.get("interval", BUSIEST_INTERVAL)), day=day)


class DemoConnector:
    """Simulates a week of a small shop's support traffic on *account*'s channel; nothing is sent.

    The first fetch backfills about five days; later fetches deliver, on average, one message per
    ``interval`` seconds of clock time. Everything is a pure function of the seed, the cursor and
    the replies sent, so re-fetching a cursor yields the same messages with the same ids.
    """

    poll_interval = 2.0

    def __init__(self, account: AccountRow, clock: Clock, *, seed: int = DEFAULT_SEED,
                 interval: float = DEFAULT_INTERVAL, day: ShopDay | None = None) -> None:
        self.account = account
        self.clock = clock
        self.day = day
        self.channel = Channel(account.channel)
        self.seed = seed
        self.interval = max(0.5, interval)
        # Poll about three times per expected message (never slower than a minute), so a quiet demo
        # account (a long interval) does not wake the app every two seconds.
        self.poll_interval = min(60.0, max(2.0, self.interval / 3))
        self.capabilities = capabilities_for(self.channel)
        name = account.display_name or SHOP
        self._me = Person(external_id=f"{account.name}:self", handle=account.handle or SHOP,
                          display_name=name if "(demo)" in name else f"{name} (demo)")
        self._anchor: float | None = None
        self._backfill: list[InboundMessage] = []
        self._backfill_threads: list[_Thread] = []
        self._threads: dict[str, _Thread] = {}
        self._roots: dict[int, _Thread] = {}
        self._sent: dict[str, SendResult] = {}
        self._answers: list[InboundMessage] = []
        self._delivered: set[str] = set()

    # ---------------------------------------------------------------- protocol

    async def fetch(self, cursor: str | None) -> FetchResult:
        now = self.clock.now()
        state = _parse_cursor(cursor)
        if state is None:
            self._build_backfill(now)
            return FetchResult(list(self._backfill), _cursor(now, 0, now))
        anchor, seq, covered = state
        self._build_backfill(anchor)
        k = max(seq, int((now - anchor) / self.interval) - MAX_BACKLOG)
        messages: list[InboundMessage] = []
        until, more = max(now, covered), False
        while True:
            rng, when, thread, new = self._plan(k)
            if when > now:
                break
            if len(messages) >= MAX_PER_FETCH:
                more, until = True, messages[-1].sent_at
                break
            if self._fires(k):
                messages.append(self._live_message(rng, k, when, thread, new))
            messages.extend(self._answered_elsewhere(k, when))
            k += 1
        # Answers due in the window; and older ones this instance never handed out, because another
        # console on the same database (a teammate's) may have moved the cursor past them meanwhile.
        due = [m for m in self._answers if m.sent_at <= until
               and (m.sent_at > covered or m.external_id not in self._delivered)]
        self._delivered.update(m.external_id for m in due)
        return FetchResult(messages + due, _cursor(anchor, k, until), more)

    async def send(self, request: OutboundRequest) -> SendResult:
        done = self._sent.get(request.idempotency_key)
        if done is not None:
            return done
        thread = self._check_request(request)
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:16]
        if request.action == "post":
            thread_key = self._id(f"post-{digest}")
        elif request.action == "dm":
            assert request.recipient is not None  # _check_request refused a DM without a recipient
            thread_key = _dm_key(request.recipient)
        else:
            assert request.thread_key  # _check_request refused a reply without its thread
            thread_key = request.thread_key
        result = SendResult(external_id=f"demo-out-{self.account.name}-{digest}",
                            sent_at=self.clock.now(), thread_key=thread_key)
        self._sent[request.idempotency_key] = result
        if request.action != "post":
            self._schedule_answer(request, result, thread)
        return result

    async def find_sent(self, request: OutboundRequest) -> SendResult | None:
        return self._sent.get(request.idempotency_key)

    async def check(self) -> str:
        return f"demo account: simulated {self.channel.label} traffic, nothing leaves this machine"

    async def close(self) -> None:
        self._roots.clear()

    # ---------------------------------------------------------------- sending

    def _check_request(self, request: OutboundRequest) -> _Thread | None:
        """Refuse what the platform would refuse; the thread the reply continues, if known."""
        social = self.channel != Channel.EMAIL
        if request.action not in ("reply", "dm", "post"):
            raise PermanentError(f"unknown action {request.action!r}")
        if request.action != "reply" and not social:
            raise PermanentError(f"email has no {request.action}: reply to a thread instead")
        if not request.text.strip():
            raise PermanentError("refusing to send an empty message")
        thread = None
        if request.action == "reply":
            if not request.thread_key:
                raise PermanentError("a reply needs the thread it answers")
            thread = self._thread_for(request.thread_key)
            kind = thread.kind if thread else request.kind
        elif request.action == "dm":
            if request.recipient is None:
                raise PermanentError("a DM needs a recipient")
            thread = self._thread_for(_dm_key(request.recipient))
            kind = Kind.DM
        else:
            kind = Kind.PUBLIC
        length = measure(request.text, self.channel, kind if social else Kind.EMAIL)
        if length.over:
            raise PermanentError(f"too long for {self.channel.label}: {length.describe()}")
        return thread

    def _schedule_answer(self, request: OutboundRequest, result: SendResult, thread: _Thread | None) -> None:
        """Sometimes the customer writes back a little later; a later fetch delivers it."""
        rng = self._rng("answer", request.idempotency_key)
        if rng.random() >= ANSWER_RATE:
            return
        if thread is None and request.recipient is not None:
            thread = _Thread(_dm_key(request.recipient) if request.action == "dm" else str(request.thread_key),
                             Kind.DM if request.action == "dm" else request.kind, request.recipient,
                             rng.choice(SCENARIOS), self._fill(rng), request.subject.removeprefix("Re: "))
        if thread is None:
            return  # nobody known to answer: a thread from before a restart that we cannot rebuild
        if request.action == "dm":
            line = rng.choice(DM_ANSWERS)
            assert result.thread_key is not None  # send() always names a DM's thread
            kind, key = Kind.DM, result.thread_key
        else:
            line = rng.choice(thread.scenario.after)[0]
            kind, key = thread.kind, thread.key
        when = result.sent_at + rng.uniform(20, 150)
        answer_thread = _Thread(key, kind, thread.person, thread.scenario, thread.fill, thread.subject,
                                thread.opener, thread.reply, started=True)
        self._answers.append(self._message(answer_thread, self._id(f"a-{result.external_id[-16:]}"),
                                           when, line, Direction.IN, reply_to=result.external_id))

    def _thread_for(self, key: str) -> _Thread | None:
        """The thread behind *key*, rebuilding live threads from their sequence number if needed."""
        if key in self._threads:
            return self._threads[key]
        match = re.search(r"L(\d+)", key)
        if match and self._anchor is not None and self._id(match.group(0)) == key:
            _, _, thread, new = self._plan(int(match.group(1)))
            return thread if new and thread.key == key else None
        for persona in PEOPLE:
            person = person_for(persona, self.channel)
            if _dm_key(person) == key:
                rng = self._rng("thread", key)
                return _Thread(key, Kind.DM, person, rng.choice(SCENARIOS), self._fill(rng))
        return None

    # ---------------------------------------------------------------- live traffic

    def _plan(self, k: int) -> tuple[random.Random, float, _Thread, bool]:
        """Live message *k*: its random stream, time, thread and whether it starts that thread.

        A follow-up only continues a thread that a recent message opened by its roll alone, so
        working out any message takes at most one step back: no chains, however long the session.
        """
        rng = self._rng("live", k)
        assert self._anchor is not None  # live slots exist only once the backfill set the anchor
        when = self._anchor + self.interval * (k + rng.random())
        roll = rng.random()
        if roll < BACKFILL_FOLLOW_UP_RATE and self._backfill_threads:
            return rng, when, rng.choice(self._backfill_threads), False
        if roll < FOLLOW_UP_RATE:
            j = k - rng.randint(1, 12)
            if j >= 0 and self._opens(j):
                return rng, when, self._root(j), False
        return rng, when, self._new_thread(rng, f"L{k}"), True

    def _opens(self, k: int) -> bool:
        rng = self._rng("live", k)
        rng.random()
        return rng.random() >= FOLLOW_UP_RATE and self._fires(k)

    def _fires(self, k: int) -> bool:
        """Whether live slot *k* carries a customer message (always, for a flat load)."""
        if self.day is None:
            return True
        rng = self._rng("fires", k)
        assert self._anchor is not None  # live slots exist only once the backfill set the anchor
        return self.day.fires(rng, self._anchor + self.interval * k)

    def _answered_elsewhere(self, k: int, when: float) -> list[InboundMessage]:
        """Our answers, written in the platform's own app, that fall in slot *k*: the conversations a
        teammate took care of before the console got to them."""
        if self.day is None:
            return []
        out = []
        low, high = ELSEWHERE_SLOTS
        for j in range(max(0, k - high), k - low + 1):
            if self._opens(j) and self.day.answered_after(self._rng("elsewhere", j)) == k - j:
                thread = self._threads.get(self._root(j).key) or self._root(j)
                text = f"{thread.reply} {ELSEWHERE_SIGNATURE.format(channel=self.channel.label)}"
                out.append(self._message(thread, self._id(f"E{j}"), when, text, Direction.OUT,
                                         reply_to=thread.root_id or None))
        return out

    def _root(self, k: int) -> _Thread:
        """The thread live message *k* opened (only asked for messages that _opens)."""
        thread = self._roots.get(k)
        if thread is None:
            thread = self._roots[k] = self._plan(k)[2]
        return thread

    def _live_message(self, rng: random.Random, k: int, when: float, thread: _Thread,
                      new: bool) -> InboundMessage:
        self._threads.setdefault(thread.key, thread)
        ext_id = self._id(f"L{k}")
        if new:
            text = thread.opener
        elif thread.answered:
            text = rng.choice(thread.scenario.after)[0]
        else:
            text = rng.choice(thread.scenario.nudges + GENERIC_NUDGES)
        view = _Thread(thread.key, thread.kind, thread.person, thread.scenario, thread.fill,
                       thread.subject, thread.opener, thread.reply, thread.root_id, started=not new)
        return self._message(view, ext_id, when, text, Direction.IN,
                             reply_to=None if new else thread.root_id or None)

    def _new_thread(self, rng: random.Random, tag: str, persona: Persona | None = None) -> _Thread:
        persona = persona or rng.choice(PEOPLE)
        person = person_for(persona, self.channel)
        scenario = rng.choice(SCENARIOS)
        fill = self._fill(rng)
        opener, reply = rng.choice(scenario.openers)
        if persona.native and rng.random() < 0.6:
            topic, opener, implied = rng.choice(persona.native)
            scenario = SCENARIOS_BY_TOPIC[topic]
            reply = scenario.openers[0][1]
            fill.update(implied)
        subject = rng.choice(scenario.subjects).format_map(fill)
        if self.channel == Channel.EMAIL:
            kind, key = Kind.EMAIL, self._id(tag)
        elif rng.random() < DM_RATE.get(self.channel, 0.4):
            kind, key = Kind.DM, _dm_key(person)
        else:
            kind, key = Kind.PUBLIC, self._id(tag)
        return _Thread(key, kind, person, scenario, fill, subject if kind == Kind.EMAIL else "",
                       opener, reply, root_id="" if kind == Kind.DM else key)

    # ---------------------------------------------------------------- backfill

    def _build_backfill(self, anchor: float) -> None:
        """The past few days as of *anchor*: answered conversations and some still waiting."""
        if self._anchor == anchor:
            return
        self._anchor, self._roots = anchor, {}
        rng = self._rng("backfill")
        waits = self._waiting_plan(rng)
        count = max(rng.randint(18, 26), len(waits) + 10)
        plan: list[float | None] = [*waits, *([None] * (count - len(waits)))]
        rng.shuffle(plan)
        hostile_person, hostile_text = HOSTILE.get(self.channel, (None, None))
        hostile_at = next(i for i, wait in enumerate(plan) if wait is not None)
        # Each channel features three of the customers who write in non-Latin scripts, so the
        # workspace as a whole shows them all; then everyone else in a shuffled order.
        start = list(Channel).index(self.channel)
        featured = [FEATURED[(start + n) % len(FEATURED)] for n in range(3)]
        pool = itertools.cycle(featured + rng.sample([p for p in PEOPLE if p not in featured],
                                                     len(PEOPLE) - len(featured)))
        messages: list[InboundMessage] = []
        threads: list[_Thread] = []
        seen: list[Persona] = []
        for i, wait in enumerate(plan):
            if i == hostile_at and hostile_person is not None:
                persona = hostile_person
            elif len(seen) >= 6 and rng.random() < 0.12:
                persona = rng.choice(seen)  # a repeat customer with a new question
            else:
                persona = next(pool)
                seen.append(persona)
            thread = self._new_thread(rng, f"b{i}", persona)
            if thread.kind == Kind.DM and any(t.key == thread.key for t in threads):
                thread = _Thread(self._id(f"b{i}"), Kind.PUBLIC, thread.person, thread.scenario,
                                 thread.fill, "", thread.opener, thread.reply, root_id=self._id(f"b{i}"))
            opener = hostile_text if i == hostile_at and hostile_text else None
            if wait is None:
                messages += self._answered(rng, thread, i, anchor, opener)
            else:
                messages += self._waiting(rng, thread, i, anchor, wait, opener)
            threads.append(thread)
            self._threads[thread.key] = thread
        self._backfill = messages
        self._backfill_threads = threads

    def _waiting_plan(self, rng: random.Random) -> list[float]:
        """How long each still-unanswered conversation has waited at the anchor."""
        if self.channel == Channel.EMAIL:
            return [rng.uniform(8, 50) * MINUTE, rng.uniform(1.5, 3.5) * HOUR, rng.uniform(4, 9) * HOUR,
                    rng.uniform(18.5, 22) * HOUR]
        minutes = [rng.uniform(2, 9), rng.uniform(11, 28), rng.uniform(31, 57)]
        if rng.random() < 0.5:
            minutes.append(rng.uniform(3, 40))
        if self.channel in (Channel.X, Channel.MASTODON) or rng.random() < 0.3:
            minutes.append(rng.uniform(64, 170))  # over the one-hour social target
        return [m * MINUTE for m in minutes]

    def _answered(self, rng: random.Random, thread: _Thread, i: int, now: float,
                  opener: str | None) -> list[InboundMessage]:
        latest = now - rng.uniform(10, 30) * MINUTE
        t = now - rng.uniform(2 * HOUR, BACKFILL_DAYS * DAY)
        out = [self._say(thread, i, t, opener or thread.opener, Direction.IN)]
        if rng.random() < 0.3:
            t += rng.uniform(3, 40) * MINUTE
            out.append(self._say(thread, i, t, rng.choice(thread.scenario.nudges + GENERIC_NUDGES),
                                 Direction.IN))
        t = min(t + rng.uniform(4 * MINUTE, 3 * HOUR), latest)
        out.append(self._say(thread, i, t, thread.reply, Direction.OUT))
        thread.answered = True
        after, answer = rng.choice(thread.scenario.after)
        t_after = t + rng.uniform(5 * MINUTE, 3 * HOUR)
        t_close = t_after + rng.uniform(3 * MINUTE, 1 * HOUR)
        if rng.random() < 0.4 and t_close < latest:
            out.append(self._say(thread, i, t_after, after, Direction.IN))
            out.append(self._say(thread, i, t_close, answer or rng.choice(CLOSINGS), Direction.OUT))
        return out

    def _waiting(self, rng: random.Random, thread: _Thread, i: int, now: float, wait: float,
                 opener: str | None) -> list[InboundMessage]:
        start = now - wait
        out: list[InboundMessage] = []
        if opener is None and wait < 30 * MINUTE and rng.random() < 0.4:
            # A second round: we answered earlier, the customer came back and now waits again.
            t = start - rng.uniform(1 * HOUR, 30 * HOUR)
            out.append(self._say(thread, i, t, thread.opener, Direction.IN))
            t += rng.uniform(4 * MINUTE, min(3 * HOUR, start - t - 2 * MINUTE))
            out.append(self._say(thread, i, t, thread.reply, Direction.OUT))
            out.append(self._say(thread, i, start, rng.choice(thread.scenario.after)[0], Direction.IN))
            return out
        out.append(self._say(thread, i, start, opener or thread.opener, Direction.IN))
        # Whoever has waited half an hour has written again at least once (a repeat contact).
        if wait > 30 * MINUTE:
            nudges = 1 + (wait > HOUR and rng.random() < 0.6)
        else:
            nudges = int(wait > 12 * MINUTE and rng.random() < 0.5)
        for t in sorted(now - wait * rng.uniform(0.05, 0.6) for _ in range(nudges)):
            out.append(self._say(thread, i, t, rng.choice(GENERIC_NUDGES + thread.scenario.nudges),
                                 Direction.IN))
        return out

    def _say(self, thread: _Thread, i: int, when: float, text: str, direction: Direction) -> InboundMessage:
        """The next backfill message of *thread*, numbered so its id is stable per seed."""
        ext_id = self._id(f"b{i}" if thread.count == 0 else f"b{i}.{thread.count}")
        thread.count += 1
        message = self._message(thread, ext_id, when, text, direction, reply_to=thread.root_id or None)
        thread.started = True
        return message

    # ---------------------------------------------------------------- shaping messages

    def _message(self, thread: _Thread, ext_id: str, when: float, text: str, direction: Direction, *,
                 reply_to: str | None = None) -> InboundMessage:
        """A message as the platform would show it: mentions, greetings and subjects included."""
        text = text.format_map(thread.fill)
        first = not thread.started
        if direction == Direction.IN:
            author, body = thread.person, self._customer_text(thread, text, first)
        else:
            author, body = self._me, self._our_text(thread, text)
        subject = ""
        if thread.kind == Kind.EMAIL:
            subject = thread.subject if first and direction == Direction.IN else f"Re: {thread.subject}"
        if first and thread.kind != Kind.DM and not thread.root_id:
            thread.root_id = ext_id
        return InboundMessage(external_id=ext_id, thread_key=thread.key, kind=thread.kind, author=author,
                              text=body, sent_at=when, direction=direction, subject=subject,
                              in_reply_to=None if first else reply_to)

    def _customer_text(self, thread: _Thread, text: str, first: bool) -> str:
        if thread.kind == Kind.EMAIL:
            name = _first_name(thread.person.display_name) or thread.person.display_name
            return f"Hi,\n\n{text}\n\nThanks,\n{name}" if first else f"{text}\n\n{name}"
        if thread.kind == Kind.PUBLIC and self.channel in (Channel.X, Channel.MASTODON, Channel.BLUESKY):
            mention = self._me.handle if self._me.handle.startswith("@") else f"@{self._me.handle}"
            return f"{mention} {text}"
        return text

    def _our_text(self, thread: _Thread, text: str) -> str:
        if thread.kind == Kind.EMAIL:
            return (f"Hi {_first_name(thread.person.display_name) or 'there'},\n\n{text}\n\n"
                    f"Warm wishes,\nThe {SHOP} team (demo)")
        if thread.kind == Kind.PUBLIC and self.channel in (Channel.X, Channel.MASTODON):
            return f"{thread.person.handle} {text}"
        return text

    # ---------------------------------------------------------------- helpers

    def _rng(self, *parts: object) -> random.Random:
        """A random stream determined by the seed, the channel and *parts* (e.g. a sequence number)."""
        return random.Random("/".join([str(self.seed), self.channel.value, *map(str, parts)]))

    def _id(self, tag: str) -> str:
        if self.channel == Channel.EMAIL:
            return f"<{tag}.{self.account.name}@{MAIL_DOMAIN}>"
        return f"demo-{self.account.name}-{tag}"

    @staticmethod
    def _fill(rng: random.Random) -> dict[str, str]:
        return {"order": f"#{rng.randint(10412, 19870)}", "item": rng.choice(ITEMS),
                "ware": rng.choice(WARES), "garment": rng.choice(GARMENTS), "size": rng.choice(SIZES), "day": rng.choice(DAYS),
                "place": rng.choice(PLACES), "city": rng.choice(CITIES)}
