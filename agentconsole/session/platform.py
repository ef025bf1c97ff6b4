"""The Session's verbs that ask an account's connector itself: comment moderation (Meta) and what to warn
of before a post goes out (X's price of a link)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentconsole.replies.moderation import Moderation, Target
    from agentconsole.storage.store import Store
    from agentconsole.sync.engine import Engine


class PlatformVerbs:
    """Mixed into Session, which supplies the store, the engine and the agent."""

    store: Store
    engine: Engine | None
    agent_id: int | None

    def can_moderate(self, account_id: int | None) -> bool:
        """Whether the account's connector can hide, unhide and delete comments."""
        from agentconsole.replies.moderation import ModeratesComments

        return isinstance(self._connector(account_id), ModeratesComments)

    def moderation_target(self, conversation_id: int) -> Target | None:
        """The newest customer comment of the conversation, or None."""
        from agentconsole.replies.moderation import target

        return target(self.store, conversation_id)

    async def moderate(self, account_id: int, found: Target, action: Moderation) -> str:
        """Hide, unhide or delete *found* on the platform, audited; what happened, in the agent's words."""
        from agentconsole.replies.moderation import moderate

        return await moderate(self.store, self._connector(account_id), found, action, self.agent_id)

    def send_warning(self, account_id: int, text: str, action: str = "post") -> str:
        """What to tell the agent before *text* goes out there as *action*, from the account's connector
        (X bills a post with a link 13x more); "" when nothing, or when the account is not connected."""
        warn = getattr(self._connector(account_id), "send_warning", None)
        return str(warn(text, action)) if callable(warn) else ""

    def _connector(self, account_id: int | None) -> object | None:
        engine = self.engine
        return engine.connectors.get(account_id) if engine is not None and account_id is not None else None
