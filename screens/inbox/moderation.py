"""Palette commands to hide, unhide or delete the open conversation's newest customer comment (delete
asks first); the core's moderation module does the work and the audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentconsole.replies.moderation import Moderation, ModerationRefused

if TYPE_CHECKING:
    from textual.screen import Screen


def commands(screen: Screen, conversation_id: int | None, account_id: int | None) -> list[tuple[str, str, object]]:
    """The moderation entries for the palette, offered only where the account's connector can do them."""
    session = screen.app.session
    if conversation_id is None or account_id is None or not session.can_moderate(account_id):
        return []

    def run(action: Moderation) -> None:
        found = session.moderation_target(conversation_id)
        if found is None:
            screen.notify("There is no customer comment here to moderate.", severity="warning")
            return
        if action == Moderation.DELETE:
            from screens.common.modals import ConfirmModal

            def confirmed(yes: bool | None) -> None:
                if yes:
                    _start(screen, account_id, found, action)

            screen.app.push_screen(ConfirmModal(f"Delete this comment for everyone? “{found.preview}”"), confirmed)
        else:
            _start(screen, account_id, found, action)

    return [
        ("Hide the comment", "Nobody but its author sees it any more (better than delete for abuse)",
         lambda: run(Moderation.HIDE)),
        ("Unhide the comment", "Show a hidden comment to everyone again", lambda: run(Moderation.UNHIDE)),
        ("Delete the comment…", "Remove it for everyone (asks first)", lambda: run(Moderation.DELETE)),
    ]


def _start(screen: Screen, account_id: int, found, action: Moderation) -> None:
    async def work() -> None:
        from agentconsole.domain.errors import ConnectorError

        try:
            said = await screen.app.session.moderate(account_id, found, action)
        except (ConnectorError, ModerationRefused) as exc:
            screen.notify(f"The comment was not {action.done}: {exc}", severity="error", timeout=8)
            return
        screen.notify(said, timeout=5)

    screen.run_worker(work(), group="moderation", exit_on_error=False, description="Moderating a comment")
