"""Pilot walk of triage: the heat mark on a row, the `!` correction stored, the list re-ranked."""

from __future__ import annotations

from tests.screens.helpers import screen_text, settle

SIZE = (120, 36)


def row_line(text: str, needle: str) -> str:
    """The list row of *needle* (the pane may name the customer too, on an earlier line)."""
    return next(line.split("││")[1] for line in text.splitlines() if "││" in line and needle in line.split("││")[1])


async def test_bang_corrects_the_heat_marks_the_row_and_re_ranks(seeded):
    seeded.clock.advance(30 * 60)  # Sam's calm DM and Dana's upset mention are both over their hour
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ids = list(app.screen.conversations.ids)
        assert ids[:2] == [seeded.ids["dana"], seeded.ids["sam"]]  # the upset one first
        assert "!  Dana Kim" in row_line(screen_text(app), "Dana Kim")
        assert "FB dm Sam Ortiz" in row_line(screen_text(app), "Sam Ortiz")  # calm: no mark
        app.screen.conversations.select_id(seeded.ids["sam"])
        await pilot.press("exclamation_mark", "exclamation_mark")  # calm -> upset -> angry
        await settle(app, pilot)
        text = screen_text(app)
        assert "FB dm !! Sam Ortiz" in row_line(text, "Sam Ortiz")
        assert list(app.screen.conversations.ids)[:2] == [seeded.ids["sam"], seeded.ids["dana"]]
        assert "most urgent 1h20m (Facebook)" in text
        stored = seeded.store.conn.execute(
            "SELECT conversation_id, agent_id, level FROM triage_corrections ORDER BY id").fetchall()
        assert [tuple(r) for r in stored] == [(seeded.ids["sam"], seeded.agent_id, 1),
                                             (seeded.ids["sam"], seeded.agent_id, 2)]
        await pilot.press("exclamation_mark")  # angry -> calm
        await settle(app, pilot)
        assert "FB dm Sam Ortiz" in row_line(screen_text(app), "Sam Ortiz")


async def test_no_color_reads_the_heat_from_the_text_mark(seeded, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "X     !  Dana Kim" in row_line(screen_text(app), "Dana Kim")
