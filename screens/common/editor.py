"""The $EDITOR round trip: suspend the console, let the agent's editor have the terminal, resume."""

from __future__ import annotations

import os

from textual.app import App, SuspendNotSupported

from agentconsole.editing import Edited, EditorError, edit, editor_command, run_in_terminal


def edit_in_editor(app: App, text: str) -> Edited | None:
    """*text* as the agent left it in their editor, or None (then a notification says why and the
    draft is untouched). Runs on the UI thread: the console is suspended while the editor runs."""
    configured = getattr(getattr(app, "config", None), "editor", "")
    try:
        command = editor_command(configured, os.environ)
        if app.is_headless:
            # No terminal to hand over (tests, scripted runs): the editor runs without one.
            return edit(text, command, run_in_terminal)
        with app.suspend():
            return edit(text, command, run_in_terminal)
    except SuspendNotSupported:
        app.notify("This terminal cannot hand the screen to an editor; the draft is unchanged.",
                   severity="warning", timeout=8)
    except EditorError as exc:
        app.notify(f"Editor: {exc}", severity="warning", timeout=8)
    return None


def edit_composer(composer) -> None:
    """ctrl+e in the reply or note composer: the draft goes to the editor and comes back checked by the
    send guard (length, unfilled placeholders) at once, as ctrl+s would check it."""
    from textual.widgets import TextArea

    edited = edit_in_editor(composer.app, composer.text)
    if edited is None:
        return  # the draft is untouched; a notification said why
    area = composer.query_one(TextArea)
    area.load_text(edited.text)
    area.move_cursor(area.document.end)
    verdict = composer.verdict()
    note = composer.problem() or (" · ".join(verdict.warnings) if verdict and verdict.warnings else None)
    composer._edited = (edited.text, note)  # kept over the TextArea.Changed that load_text posts
    composer.update_status(note)
    area.focus()


def edit_text_area(area) -> None:
    """ctrl+e in a form's text field (the canned reply's body): its own checks run on TextArea.Changed."""
    edited = edit_in_editor(area.app, area.text)
    if edited is not None:
        area.load_text(edited.text)
        area.move_cursor(area.document.end)
        area.focus()
