"""The Session: every verb and read the console and the command line need, over one store and engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from agentconsole import failures
from agentconsole.config import Config
from agentconsole.domain.clock import Clock
from agentconsole.domain.models import Capabilities, Channel, Direction, Status
from agentconsole.domain.rows import AgentRow, ContactCard, ConversationRow, MessageRow, NoteRow, SearchHit
from agentconsole.replies import reach
from agentconsole.replies.outbox import Outbox, OutboxRow
from agentconsole.response import waits
from agentconsole.response.rule import ResponseRule
from agentconsole.session.engine_link import EngineLink
from agentconsole.session.listening import ListeningVerbs
from agentconsole.session.platform import PlatformVerbs
from agentconsole.session.refresh import RefreshReads
from agentconsole.domain.rows import DraftRow
from agentconsole.storage import views
from agentconsole.storage.store import Store
from agentconsole.team import collision
from agentconsole.team.changes import Link
from agentconsole.team.presence import Activity

if TYPE_CHECKING:
    from agentconsole import metrics
    from agentconsole.replies import escalation
    from agentconsole.replies.canned import CannedLibrary
    from agentconsole.replies.escalation_texts import EscalationTexts
    from agentconsole.replies.reach import Reach
    from agentconsole.shifts.banner import Banner
    from agentconsole.shifts.service import EndForm, Handover, ShiftRecord, Shifts, StartForm
    from agentconsole.satisfaction.service import CsatRow
    from agentconsole.triage.service import AfterReply, SentimentDay
    from agentconsole.knowledge.history import History
    from agentconsole.triage.score import Level

    from agentconsole.sync.engine import Engine


class SendRefused(Exception):
    """The send guard blocks this text (over the limit, an unfilled placeholder, empty): nothing was queued."""


@dataclass(frozen=True, slots=True)
class PaneRead:
    """Everything the conversation pane shows for one conversation, read together."""

    conversation: ConversationRow
    messages: list[MessageRow]
    notes: list[NoteRow]
    card: ContactCard | None
    outbox: list[OutboxRow]
    loaded_at: float
    reach: Reach | None = None  # can we message this person now, and how (replies.reach)


class Session(RefreshReads, PlatformVerbs, ListeningVerbs, EngineLink):
    """One agent's session on one workspace. Blocking: call it from worker threads, never the UI loop,
    except kick(), attach_engine() and the engine's own run(), which belong to the event loop."""

    def __init__(self, store: Store, *, clock: Clock, config: Config, agent_id: int | None = None,
                 engine: Engine | None = None, connect: Callable[[], Engine] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.agent_id = agent_id
        self._link_engine(engine, connect)  # the engine, or how to build it later (attach_engine)
        self.outbox = Outbox(store)
        # Where this console is, for the other consoles: set by the UI, written by the team watcher.
        self.presence_target: tuple[int | None, Activity] = (None, Activity.VIEWING)
        # The team watcher's: end its wait now (write a new target, or stop), set while it runs.
        self.nudge_team: Callable[..., None] = lambda stopping=False: None
        self.change_feed: Any = None
        self.workspace_link = Link()  # the team watcher's view of the workspace server (the banner shows it)

    # ------------------------------------------------------------------ the rules of this workspace

    @cached_property
    def agent_row(self) -> AgentRow:
        if self.agent_id is None:
            raise ValueError("this session has no agent")
        return self.store.agent(self.agent_id)

    def agent(self, agent_id: int) -> AgentRow:
        return self.store.agent(agent_id)

    def agents(self) -> list[AgentRow]:
        return self.store.agents()

    def capabilities(self) -> dict[int, Capabilities]:
        """Each connected account's capabilities (none without an engine: nothing can be sent then)."""
        engine = self.engine
        return {aid: c.capabilities for aid, c in engine.connectors.items()} if engine is not None else {}

    def limit_for(self, conversation: ConversationRow) -> int | None:
        caps = self.capabilities().get(conversation.account_id)
        return caps.max_length if caps is not None else None

    def customer_values(self, conversation: ConversationRow) -> dict[str, str | None]:
        from agentconsole.replies import templates

        return dict(templates.values_for(conversation, self.agent_row))

    def reconfigure(self, config: Config) -> None:
        """:reload: targets, hours, keys and the like from a re-read config (accounts never change here)."""
        self.config = config

    def response_rule(self) -> ResponseRule:
        """Each account's targets and business hours, as the list, the wait line and the crossings judge
        them: made again when the configuration or the accounts (one small read) changed."""
        seen = (self.config, views.account_names(self.store))
        cached = self.__dict__.get("_rule")
        if cached is None or cached[0][0] is not seen[0] or cached[0][1] != seen[1]:
            cached = self.__dict__["_rule"] = (seen, ResponseRule(self.config.targets, self.config.hours,
                                                                  self.store.accounts()))
        return cached[1]

    def shifts(self) -> Shifts:
        from agentconsole.shifts.service import Shifts

        return Shifts(self.store, self.capabilities())

    @cached_property
    def canned(self) -> CannedLibrary:
        from agentconsole.replies.canned import CannedLibrary

        return CannedLibrary(self.store)

    # ------------------------------------------------------------------ reads

    def conversations_by_ids(self, ids: Iterable[int]) -> dict[int, ConversationRow]:
        return self.store.conversations_by_ids(ids)

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        return self.store.conversation(conversation_id)

    def crossed_over(self, since: float, until: float) -> list[ConversationRow]:
        """The conversations that went over their target in (since, until], in the rule's order."""
        ids = waits.crossed(self.store, self.response_rule(), since, until)
        rows = self.store.conversations_by_ids(ids)
        return [rows[i] for i in ids if i in rows]

    def pane(self, conversation_id: int) -> PaneRead | None:
        store = self.store
        conversation = store.conversation(conversation_id)
        if conversation is None:
            return None
        card = store.contact_card(conversation.contact_id) if conversation.contact_id else None
        return PaneRead(conversation, store.messages(conversation_id), store.notes(conversation_id), card,
                        self.outbox.pending(conversation_id), self.clock.now(),
                        reach.for_conversation(store, conversation_id))

    def last_inbound_text(self, conversation_id: int) -> str:
        last = [m.text for m in self.store.messages(conversation_id, 20) if m.direction == Direction.IN]
        return last[-1] if last else ""

    def search(self, query: str) -> list[SearchHit]:
        return self.store.search(query) if query.strip() else []

    def today_figures(self) -> metrics.HeaderFigures:
        from agentconsole import metrics

        return metrics.today_header(self.store, self.clock, self.config.timezone, self.config.hours)

    def metrics_report(self, spec: str, progress: metrics.Progress | None = None) -> metrics.Report:
        from agentconsole import metrics

        return metrics.compute(self.store, spec, self.clock.now(), self.config.timezone, self.config.hours,
                               progress=progress)

    def outbox_item(self, item_id: int) -> OutboxRow:
        return self.outbox.item(item_id)

    # ------------------------------------------------------------------ replies and notes

    def reply(self, conversation_id: int, text: str, *, source: str = "personal", template_id: int | None = None,
              opened_at: float | None = None, send_anyway: bool = False, resolve: bool = False,
              cc: Sequence[str] = ()) -> int:
        """Queue a reply: the send guard, the collision guard (raises Collided), the outbox item and the
        canned reply's use, in one transaction. Returns the outbox item. *cc*: a reply all on email,
        copied to those of reply_all_cc() the agent saw (never anyone new)."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            raise SendRefused("the conversation is gone")
        from agentconsole.replies import guard

        verdict = guard.check(text, conversation.channel, conversation.kind, limit=self.limit_for(conversation))
        if verdict.blocks:
            raise SendRefused(" · ".join(verdict.blocks))
        if refused := self.heard_reply_refused(conversation_id):  # listening: X will not take this reply
            raise SendRefused(refused)
        with self.store.transaction():
            item = collision.reply(self.store, conversation_id, text, agent_id=self.agent_id, opened_at=opened_at,
                                   send_anyway=send_anyway, source=source, resolve=resolve, reply_all=bool(cc),
                                   shown_cc=tuple(cc))
            if template_id is not None:
                self.canned.record_use(template_id)
        self._changed([conversation_id], order=False, counts=False)  # its pane shows the queued reply
        return item

    def reply_all_cc(self, conversation_id: int) -> list[str]:
        """Who a reply all on this email would copy: the To and Cc of its last customer message, without
        us or the customer; empty elsewhere."""
        return self.outbox.reply_all_cc(conversation_id)

    def add_note(self, conversation_id: int, text: str) -> int:
        note = self.store.add_note(conversation_id, self.agent_id, text)
        self._changed([conversation_id], order=False, counts=False)
        return note

    def keep_draft(self, draft: DraftRow) -> None:
        """This agent's unsent reply or note, kept (an empty text drops it)."""
        if self.agent_id is not None:
            self.store.keep_draft(self.agent_id, draft)

    def drop_draft(self, conversation_id: int, mode: str) -> None:
        if self.agent_id is not None:
            self.store.drop_draft(self.agent_id, conversation_id, mode)

    def drafts(self) -> list[DraftRow]:
        return self.store.drafts_of(self.agent_id) if self.agent_id is not None else []

    def toggle_done(self, conversation_id: int, status: str) -> Status:
        """Done, or open again when it was done; returns the new status."""
        if status == Status.DONE:
            self.store.set_status(conversation_id, Status.OPEN, self.agent_id)
            new = Status.OPEN
        else:
            from agentconsole.satisfaction.done import mark_done

            mark_done(self.store, conversation_id, self.agent_id)  # the survey rule every done goes through
            new = Status.DONE
        row = self.store.conversation(conversation_id)  # done with a DM, its escalated public post is too
        self._changed([conversation_id, *([row.linked_id] if row is not None and row.linked_id else [])],
                      order=True, counts=True)
        return new

    def satisfaction(self, start: float, end: float) -> tuple[list[CsatRow], list[SentimentDay], list[AfterReply]]:
        """CSAT overall and per channel, agent and week; sentiment per day; and after our replies."""
        from agentconsole.satisfaction.service import Surveys
        from agentconsole.triage.service import Triage

        surveys, triage = Surveys(self.store), Triage(self.store)
        rows = surveys.csat(start, end)
        if rows:
            for by in ("channel", "agent", "week"):
                rows += surveys.csat(start, end, by)
        return rows, triage.sentiment_by_day(start, end), triage.after_reply(start, end)

    def survey_queued(self, conversation_id: int) -> bool:
        """Whether marking done queued the account's satisfaction question (after the last message)."""
        from agentconsole.satisfaction.service import Surveys

        return Surveys(self.store).asked_after_last_message(conversation_id)

    def correct_heat(self, conversation_id: int) -> Level | None:
        """The agent's correction of how upset a waiting customer reads (calm → upset → angry), stored."""
        from agentconsole.triage.service import Triage

        level = Triage(self.store).correct(conversation_id, self.agent_id)
        if level is not None:
            self._changed([conversation_id], order=True, counts=False)  # the urgency rank weighs the heat
        return level

    @cached_property
    def history(self) -> History:
        """Our earlier answers to questions like the open one (answers from history)."""
        from agentconsole.knowledge.history import History

        return History(self.store)

    def assign(self, conversation_id: int, agent_id: int | None, expected: int | None) -> tuple[bool, int | None]:
        """Compare-and-set: only if the assignee is still *expected*. Returns (done, assignee now)."""
        done, now = self.store.set_assignee(conversation_id, agent_id, self.agent_id, expected=expected)
        self._changed([conversation_id], order=True, counts=True)  # Mine; when refused, who has it now
        return done, now

    def decide(self, item_id: int, decision: str) -> None:
        """The agent's call on a send that ended unsure, failed or refused: resend, mark_sent or discard."""
        self.outbox.decide(item_id, decision, self.agent_id)
        conversation_id = self.outbox.item(item_id).conversation_id
        if conversation_id is not None:  # in or out of the Decide view
            self._changed([conversation_id], order=True, counts=True)

    def needing_decision(self) -> list[OutboxRow]:
        return self.outbox.needing_decision()

    # ------------------------------------------------------------------ DM escalation and crisis mode

    def why_not_escalate(self, conversation_id: int) -> str | None:
        from agentconsole.replies import escalation
        conversation = self.store.conversation(conversation_id)
        caps = self.capabilities().get(conversation.account_id) if conversation is not None else None
        return escalation.why_not(self.store, conversation_id, caps)

    async def why_not_escalate_now(self, conversation_id: int) -> str | None:
        """why_not_escalate with the platform's live answer where the connector gives one (X's
        receives_your_dm, Bluesky's getConvoAvailability), through the one reach rule."""
        import asyncio
        from agentconsole.replies import escalation

        conversation = await asyncio.to_thread(self.store.conversation, conversation_id)
        if conversation is None:
            return "that conversation no longer exists"
        connector = self._connector(conversation.account_id)
        person = await asyncio.to_thread(escalation.customer_of, self.store, conversation_id)
        availability = await reach.ask(connector, person) if person is not None else None
        caps = self.capabilities().get(conversation.account_id)
        return await asyncio.to_thread(escalation.why_not, self.store, conversation_id, caps, availability)

    def escalation_texts(self, conversation: ConversationRow) -> EscalationTexts:
        from agentconsole.replies.escalation_texts import EscalationTexts
        from agentconsole.replies.reach import WINDOWED

        texts = EscalationTexts.defaults(self.canned, self.customer_values(conversation),
                                         private_reply=Channel(conversation.channel) in WINDOWED)
        if self.heard_reply_refused(conversation.id):  # X takes no public reply here: the DM alone
            from dataclasses import replace

            texts = replace(texts, public="")
        return texts

    def escalate(self, conversation_id: int, dm_text: str, public_text: str, *, opened_at: float | None = None,
                 send_anyway: bool = False) -> escalation.Escalation:
        """The DM first, then the public reply once it is accepted (raises EscalationRefused, Collided)."""
        from agentconsole.replies import escalation
        conversation = self.store.conversation(conversation_id)
        caps = self.capabilities().get(conversation.account_id) if conversation is not None else None
        done = escalation.escalate(self.store, conversation_id, dm_text=dm_text, public_text=public_text,
                                   agent_id=self.agent_id, capabilities=caps, opened_at=opened_at,
                                   send_anyway=send_anyway)
        self._changed([conversation_id, done.dm_conversation_id], order=True, counts=True)
        return done

    def ask_to_dm(self, item_id: int) -> None:
        """A refused DM: post a public reply inviting the customer to write to us, and settle the DM."""
        item = self.outbox.item(item_id)
        conversation = self.store.conversation(item.conversation_id) if item.conversation_id else None
        if conversation is None:
            raise SendRefused("the conversation is gone")
        from agentconsole.replies import templates
        from agentconsole.replies.escalation_texts import ASK_TO_DM

        text = templates.fill(ASK_TO_DM, self.customer_values(conversation)).text
        with self.store.transaction():
            self.outbox.enqueue_reply(conversation.id, text, agent_id=self.agent_id, source="escalation")
            self.outbox.decide(item_id, "discard", self.agent_id)
        self._changed([conversation.id], order=True, counts=True)

    def crisis_status_fits(self, conversation_ids: list[int], status_text: str) -> list[escalation.StatusFit]:
        from agentconsole.replies import escalation
        return escalation.status_fits(self.store, conversation_ids, status_text, self.capabilities())

    def crisis_status_skips(self, conversation_ids: list[int]) -> list[str]:
        """The accounts crisis mode posts no status to, each with why (Instagram has no text post)."""
        from agentconsole.replies import escalation
        return escalation.status_skips(self.store, conversation_ids, self.capabilities())

    def crisis_problems(self, conversation_ids: list[int], *, status_text: str,
                        dm_texts: dict[int, str]) -> list[str]:
        from agentconsole.replies import escalation
        return escalation.crisis_problems(self.store, conversation_ids, status_text=status_text, dm_texts=dm_texts,
                                          capabilities=self.capabilities())

    def crisis(self, conversation_ids: list[int], *, status_text: str, dm_texts: dict[int, str],
               opened_at: float | None) -> escalation.CrisisPlan:
        from agentconsole.replies import escalation
        plan = escalation.crisis(self.store, conversation_ids, status_text=status_text, dm_texts=dm_texts,
                                 agent_id=self.agent_id, capabilities=self.capabilities(), opened_at=opened_at)
        self._changed([*conversation_ids, *(esc.dm_conversation_id for esc in plan.escalations)],
                      order=True, counts=True)
        return plan

    def crisis_progress(self, plan: escalation.CrisisPlan
                        ) -> tuple[list[tuple[int, str, str, str]], list[tuple[str, str, str]]]:
        """(each DM's row, each account's status) of a crisis batch, as they stand now."""
        from agentconsole.replies import escalation
        return (escalation.batch_progress(self.store, plan.batch),
                escalation.status_progress(self.store, plan.status_items))

    def retry_crisis(self, plan: escalation.CrisisPlan) -> None:
        touched = []
        for item in [*plan.status_items.values(), *(esc.dm_item for esc in plan.escalations)]:
            row = self.outbox.item(item)
            if row.state in ("failed", "unsure"):
                self.outbox.decide(item, "resend", self.agent_id)
                if row.conversation_id is not None:
                    touched.append(row.conversation_id)
        if touched:
            self._changed(touched, order=True, counts=True)

    # ------------------------------------------------------------------ shifts

    def banner(self) -> Banner:
        from agentconsole.shifts.banner import build_banner

        return build_banner(self.shifts(), self.agent_row.timezone)

    def on_shift_agent_ids(self) -> set[int]:
        return {s.agent_id for s in self.shifts().on_shift()}

    def shift_form(self) -> StartForm | EndForm:
        """The end form while this agent is on shift, else the start form."""
        shifts, agent_id = self.shifts(), self.agent_row.id
        return shifts.end_form(agent_id) if shifts.current(agent_id) is not None else shifts.start_form(agent_id)

    def start_shift(self, *, planned_end: float | None, hello: Mapping[int, str], acknowledge: Iterable[int] = ()) -> None:
        self.shifts().start(self.agent_row.id, planned_end=planned_end, hello=hello, acknowledge=acknowledge)

    def end_shift(self, *, goodbye: Mapping[int, str], next_agent: str | None, next_start: float | None,
                  note: str, assignments: Handover | str) -> None:
        self.shifts().end(self.agent_row.id, goodbye=goodbye, next_agent=next_agent, next_start=next_start,
                          note=note, assignments=assignments)
        self._changed((), order=True, counts=True)  # the hand-off may reassign any of them: read all again

    def shift_history(self, limit: int = 50) -> list[ShiftRecord]:
        return self.shifts().history(limit)

    def send_away_replies(self) -> list[int]:
        """After each sync, off shift: one away reply per customer and off period (when switched on)."""
        from agentconsole.shifts.away import AwayReplies

        return AwayReplies(self.shifts()).send_due()

    # ------------------------------------------------------------------ the team

    def set_presence(self, conversation_id: int | None, activity: Activity) -> None:
        """Say where this console is; the team watcher, nudged, writes it at once."""
        self.presence_target = (conversation_id, activity)
        self.nudge_team()

    def stop_watching_team(self) -> None:
        """The console is closing: the team watcher stops now, not after its current wait (any thread)."""
        self.nudge_team(stopping=True)

    def open_change_feed(self) -> None:
        """Take this console's place in the change log now, before the first reads, so nothing
        committed in between is missed; the team watcher reads it and closes it."""
        from agentconsole.team.changes import ChangeFeed

        self.change_feed = ChangeFeed(self.store)
        self.change_feed.store.release()  # the watcher's thread reads it from now on, and closes it

    def watch_team(self, cancelled: Callable[[], bool], changed: Callable[[Any], None],
                   people: Callable[[dict[int, tuple[Any, ...]]], None]) -> None:
        """Run until *cancelled()*: other consoles' changes and presence go to the two callbacks."""
        from agentconsole.session.team_watch import watch

        feed, self.change_feed = self.change_feed, None
        watch(self, feed, cancelled, changed, people)

    # ------------------------------------------------------------------ the database and failures

    @property
    def damaged(self) -> str:
        """Why writes stopped (the database failed its check), or empty while it is sound."""
        return self.store.damaged

    def check_database(self) -> bool | None:
        """SQLite's quick check, then the daily backup of a sound file, at the lowest CPU priority: True
        when it found damage, None when interrupt_check() stopped it (run it again later)."""
        from agentconsole.storage.health import at_low_priority

        return at_low_priority(self.store.check_in_background)

    def interrupt_check(self) -> None:
        """Stop a running check_database at once (safe from any thread): a key was pressed."""
        self.store.interrupt_check()

    def notice(self, error: BaseException) -> bool:
        """True when *error* says the database is damaged (writes stop from now on)."""
        return self.store.notice(error)

    @staticmethod
    def explain(error: BaseException) -> str | None:
        """The one sentence for an operational error, or None for a bug."""
        return failures.describe(error)

    @staticmethod
    def short(error: BaseException) -> str:
        return failures.short(error)
