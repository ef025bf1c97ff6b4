"""What the idle console does on its timers: today's header figures are read again only after a change
or when the agent's day turns, not every half minute."""

from __future__ import annotations

from screens.inbox.loading import DataChanged
from screens.inbox.screen import InboxScreen

from tests.screens.helpers import settle, wait_until


async def test_todays_figures_are_read_only_after_a_change_or_at_midnight(seeded):
    app = seeded.app()
    reads: list[float] = []
    read = app.session.today_figures

    def counted():
        reads.append(seeded.clock.now())
        return read()

    app.session.today_figures = counted
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(app, pilot, lambda: len(reads) == 1)  # once the first rows are up
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)

        async def half_minute() -> None:  # what the "today" timer does every 30 s
            inbox._today_if_changed()
            await settle(app, pilot)

        await half_minute()
        await half_minute()
        assert len(reads) == 1  # nothing changed: nothing read
        inbox.post_message(DataChanged(frozenset({seeded.ids["dana"]})))
        await settle(app, pilot)
        await half_minute()
        assert len(reads) == 2  # a change: read on the next half minute
        await half_minute()
        assert len(reads) == 2
        seeded.clock.advance(3600)  # 18:00 in Berlin, the same day
        await half_minute()
        assert len(reads) == 2
        seeded.clock.advance(7 * 3600)  # 01:00 in Berlin: a new day, whose figures start empty
        await half_minute()
        assert len(reads) == 3
        assert "no first response yet today" in inbox.today_text


async def test_notifications_switched_off_cost_no_timer_and_a_reload_that_switches_them_on_starts_one(
        seeded, tmp_path):
    from agentconsole.config import Config

    app = seeded.app()  # [notify] as shipped: the terminal off, no command
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)

        def ticking() -> bool:
            return any(timer.name == "notifications" and timer._task is not None for timer in app._timers)

        assert not app.notifications.active and not ticking()
        app.notifications.use(Config(timezone="Europe/Berlin", notify_terminal="osc777"))
        assert app.notifications.active and ticking()
        app.notifications.use(Config(timezone="Europe/Berlin"))
        await settle(app, pilot)
        assert not ticking()


async def test_the_header_lines_are_rebuilt_only_when_their_words_change(seeded):
    from dataclasses import replace

    from agentconsole.sync.states import ConnectorState, SyncStatus
    from screens.inbox.header import WaitLine, WorkspaceBanner

    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        inbox = app.screen
        banner, wait_line = inbox.query_one(WorkspaceBanner), inbox.query_one(WaitLine)
        builds: list[str] = []
        for line in (banner, wait_line):
            build = line._build
            line._build = lambda build=build, line=line: (builds.append(type(line).__name__), build())[1]
        for _ in range(3):
            seeded.clock.advance(1)  # the oldest wait is 50 minutes: the same words for another minute
            inbox.tick()
        assert builds == []
        seeded.clock.advance(60)
        inbox.tick()
        assert builds == ["WaitLine"] and "51m (Facebook)" in str(wait_line.render())
        ok = ConnectorState(1, "brand-x", SyncStatus.OK)
        banner.set_states({1: ok})
        banner.set_states({1: ok})
        inbox.tick()
        assert builds == ["WaitLine", "WorkspaceBanner"]
        banner.set_states({1: replace(ok, status=SyncStatus.RETRYING, retry_at=seeded.clock.now() + 30)})
        seeded.clock.advance(1)
        banner.tick()  # "retrying in 29s" counts down: its words change every second
        assert builds[2:] == ["WorkspaceBanner", "WorkspaceBanner"]


async def test_a_poll_over_within_a_second_never_flashes_syncing_and_a_longer_one_says_so(seeded):
    from dataclasses import replace

    from agentconsole.sync.states import ConnectorState, SyncStatus
    from screens.inbox.header import WorkspaceBanner

    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        banner = app.screen.query_one(WorkspaceBanner)
        syncing = ConnectorState(1, "brand-x", SyncStatus.SYNCING)
        banner.set_states({1: syncing})  # the account's first sync: said at once
        assert "brand-x syncing" in str(banner.render())
        ok = replace(syncing, status=SyncStatus.OK)
        banner.set_states({1: ok})
        builds: list[int] = []
        build = banner._build
        banner._build = lambda: (builds.append(1), build())[1]
        banner.set_states({1: syncing})  # a quiet poll, over in milliseconds
        banner.set_states({1: ok})
        assert builds == [] and "brand-x ok" in str(banner.render())
        banner.set_states({1: syncing})  # a poll that takes its time
        seeded.clock.advance(0.5)
        banner.tick()
        assert "brand-x ok" in str(banner.render())
        seeded.clock.advance(0.6)
        banner.tick()
        assert "brand-x syncing" in str(banner.render())


async def test_the_shift_banner_repaints_only_when_its_words_change(seeded):
    from dataclasses import replace

    from screens.shifts.line import ShiftBanner

    app = seeded.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(app, pilot, lambda: app.screen.query_one(ShiftBanner).banner is not None)
        line = app.screen.query_one(ShiftBanner)
        repaints: list[int] = []
        line.refresh = lambda *a, **k: repaints.append(1)  # type: ignore[method-assign]
        for _ in range(3):  # the banner as the half-minute reload reads it: a later `now`, the same words
            seeded.clock.advance(1)
            line.show(app.session.banner())
        assert repaints == [] and line.banner is not None and line.banner.now == seeded.clock.now()
        line.show(replace(line.banner, next_agent="Bob Li", next_start=seeded.clock.now() + 3600))
        assert repaints == [1] and "Bob" in line.banner.text()
