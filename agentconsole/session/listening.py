"""The Session's listening verbs and reads: the heard posts with what each platform allows, promoting,
dismissing and quoting them, and each account's keywords and hashtags."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentconsole.channels.contract import ListenTerms
    from agentconsole.domain.clock import Clock
    from agentconsole.listening.offers import HeardItem
    from agentconsole.replies.outbox import Outbox
    from agentconsole.storage.store import Store
    from agentconsole.sync.engine import Engine


class ListeningVerbs:
    """Mixed into Session, which supplies the store, the outbox, the engine, the clock and the agent."""

    store: Store
    outbox: Outbox
    engine: Engine | None
    clock: Clock
    agent_id: int | None

    def heard(self, limit: int = 200) -> list[HeardItem]:
        """Heard posts not yet promoted or dismissed, newest first, each with what its platform allows."""
        from agentconsole.listening.service import item
        from agentconsole.storage import heard

        return [item(row) for row in heard.listed(self.store.conn, limit=limit)]

    def heard_count(self) -> int:
        from agentconsole.storage import heard

        return heard.count(self.store.conn)

    def promote_heard(self, heard_id: int) -> int:
        """The heard post as a conversation in the inbox (raises HeardGone); returns the conversation."""
        from agentconsole.listening.service import promote

        return promote(self.store, heard_id, self.agent_id)

    def dismiss_heard(self, heard_id: int) -> bool:
        from agentconsole.listening.service import dismiss

        return dismiss(self.store, heard_id, self.agent_id)

    def quote_heard(self, heard_id: int, text: str) -> int:
        """Queue our own post quoting the heard post (X, where a reply is refused); the outbox item."""
        from agentconsole.listening.service import quote

        return quote(self.store, self.outbox, heard_id, text, self.agent_id)

    async def like_heard(self, heard_id: int) -> str:
        """Like the heard post on its platform (X), audited; what happened, in the agent's words."""
        import asyncio

        from agentconsole.channels.contract import LikesPosts
        from agentconsole.listening.service import HeardGone
        from agentconsole.storage import heard

        row = await asyncio.to_thread(lambda: heard.get(self.store.conn, heard_id))
        if row is None:
            raise HeardGone("that heard post is gone")
        engine = self.engine
        connector: object = engine.connectors.get(row.account_id) if engine is not None else None
        if not isinstance(connector, LikesPosts):
            return f"{row.account_name} cannot like posts from here"
        await connector.like(row.external_id)
        await asyncio.to_thread(self.store.audit, self.agent_id, "liked_heard", None, heard_id=heard_id)
        return f"liked {row.author_handle or row.author_name}'s post"

    def heard_reply_refused(self, conversation_id: int) -> str:
        """Why a reply here would be refused (a promoted X post that did not mention us), or ""."""
        from agentconsole.storage import heard

        if not heard.reply_refused(self.store.conn, conversation_id):
            return ""
        return ("X refuses a public reply to a post that did not @mention or quote you: like or quote it from "
                "Heard (H), or DM them (d) where they accept DMs")

    def listening_lines(self) -> list[str]:
        """One line per account that listens: its terms and how its last round went."""
        from agentconsole.listening import terms as listen_terms

        engine = self.engine
        if engine is None:
            return ["not syncing: nothing is heard until the console syncs"]
        listening = set(engine.listener.listening())
        lines = []
        for account in self.store.accounts():
            if account.id not in listening:
                continue
            line = f"{account.name}: {listen_terms.describe(listen_terms.of_settings(account.settings))}"
            state = engine.listener.states.get(account.id)
            if state is not None and not state.ok:
                line += f" · {state.message}"
            lines.append(line)
        return lines or ["no account here can listen (Mastodon, Bluesky, X and the demo can)"]

    def set_listen_terms(self, account_id: int, terms: ListenTerms, interval: float | None = None) -> None:
        """Keep the account's keywords and hashtags (empty: listening off); the next round reads them."""
        from agentconsole.listening.service import set_terms

        set_terms(self.store, account_id, terms, interval)
