"""The create/edit form of the canned reply library."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from agentconsole.replies.canned import CannedDraft, CannedError
from agentconsole.domain.sanitize import clean
from agentconsole.replies.templates import PLACEHOLDERS, check


def split_list(value: str) -> tuple[str, ...]:
    """"a, b ,, c" -> ("a", "b", "c"), dropping repeats."""
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


class CannedEditModal(ModalScreen[int | None]):
    """Create or edit one canned reply; *save* stores the draft (in a worker) and returns its id."""

    CSS_PATH = "canned.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="canned_edit.save", tooltip="Check and save this reply"),
        Binding("escape", "cancel", "Cancel", id="canned_edit.cancel", tooltip="Close without saving"),
        Binding("ctrl+e", "edit_externally", "Editor", id="canned_edit.editor", show=False, priority=True,
                tooltip="Edit the body in $VISUAL / $EDITOR (config editor first)"),
    ]

    @dataclass
    class Failed(Message):
        error: str

    @dataclass
    class Saved(Message):
        canned_id: int

    def __init__(self, draft: CannedDraft | None, save: Callable[[CannedDraft], int], *,
                 title: str = "New canned reply") -> None:
        super().__init__()
        self._draft = draft or CannedDraft("", "", "")
        self._save = save
        self._title = title

    def compose(self) -> ComposeResult:
        d = self._draft
        with Vertical(id="canned-edit", classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Shortcut", classes="form-label")
                yield Input(d.shortcut, placeholder="delay", id="edit-shortcut", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Name", classes="form-label")
                yield Input(d.name, placeholder="Delivery complaint", id="edit-name", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Tags", classes="form-label")
                yield Input(", ".join(d.tags), placeholder="delivery, order, late", id="edit-tags", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Channels", classes="form-label")
                yield Input(", ".join(d.channels), placeholder="empty = all (x, mastodon, email ...)",
                            id="edit-channels", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Kinds", classes="form-label")
                yield Input(", ".join(d.kinds), placeholder="empty = all (public, dm, email)",
                            id="edit-kinds", compact=True)
            yield TextArea(clean(d.body), id="edit-body", soft_wrap=True, tab_behavior="focus")
            yield Static(Text("Placeholders: " + " ".join("{" + p + "}" for p in PLACEHOLDERS)
                              + "  ·  {first_name|there} gives a fallback  ·  {{ }} for braces"),
                         id="edit-help")
            yield Static("", id="edit-error")

    def on_mount(self) -> None:
        self.query_one("#edit-shortcut", Input).focus()

    def _collect(self) -> CannedDraft:
        value = lambda wid: self.query_one(wid, Input).value  # noqa: E731
        return CannedDraft(value("#edit-shortcut").strip().lower(), value("#edit-name").strip(),
                           self.query_one("#edit-body", TextArea).text, split_list(value("#edit-tags")),
                           split_list(value("#edit-channels")), split_list(value("#edit-kinds")))

    @on(TextArea.Changed, "#edit-body")
    def _check_body(self) -> None:
        error = check(self.query_one("#edit-body", TextArea).text)
        self._show_error(f"body {error}" if error else "")

    def _show_error(self, error: str) -> None:
        self.query_one("#edit-error", Static).update(Text(clean(error)))

    def action_save(self) -> None:
        try:
            draft = self._collect().validated()
        except CannedError as exc:
            self._show_error(str(exc))
            if exc.template_error is not None:
                body = self.query_one("#edit-body", TextArea)
                body.cursor_location = (exc.template_error.line - 1, exc.template_error.col - 1)
                body.focus()
            return
        self._store(draft)

    @work(thread=True, exclusive=True, exit_on_error=False, group="canned-edit", description="Saving the canned reply")
    def _store(self, draft: CannedDraft) -> None:
        try:
            saved_id = self._save(draft)
        except CannedError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        self.post_message(self.Saved(saved_id))

    def on_canned_edit_modal_failed(self, message: Failed) -> None:
        self._show_error(message.error)

    def on_canned_edit_modal_saved(self, message: Saved) -> None:
        self.dismiss(message.canned_id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_edit_externally(self) -> None:
        from screens.common.editor import edit_text_area

        edit_text_area(self.query_one("#edit-body", TextArea))

