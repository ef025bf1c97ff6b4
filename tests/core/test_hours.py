"""Business hours: open seconds over weekends, holidays and DST changes, and the config tables."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentconsole import config
from agentconsole.response.hours import BusinessHours, HoursError, parse_hours
from agentconsole.response.rule import counted

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0


def local(*args: int) -> float:
    return datetime(*args, tzinfo=BERLIN).timestamp()


OFFICE = BusinessHours(timezone="Europe/Berlin")  # Mon–Fri 09:00–17:00


def test_friday_afternoon_to_monday_morning_counts_only_open_hours() -> None:
    start, end = local(2026, 11, 20, 16, 0), local(2026, 11, 23, 10, 0)  # Fri 16:00 → Mon 10:00
    assert OFFICE.open_seconds_between(start, end) == 2 * H
    assert end - start == 66 * H


def test_a_whole_week_is_five_days_of_eight_hours() -> None:
    assert OFFICE.open_seconds_between(local(2026, 11, 16), local(2026, 11, 23)) == 40 * H


def test_outside_hours_and_reversed_spans_are_zero() -> None:
    assert OFFICE.open_seconds_between(local(2026, 11, 21, 10), local(2026, 11, 22, 20)) == 0  # weekend
    assert OFFICE.open_seconds_between(local(2026, 11, 20, 18), local(2026, 11, 20, 8)) == 0
    assert OFFICE.open_seconds_between(local(2026, 11, 19, 7), local(2026, 11, 19, 8, 30)) == 0


def test_holidays_are_closed() -> None:
    hours = BusinessHours(timezone="Europe/Berlin", holidays=frozenset({date(2026, 12, 25)}))
    # Thu 24 Dec 16:00 → Mon 28 Dec 10:00, Friday the 25th closed.
    assert hours.open_seconds_between(local(2026, 12, 24, 16), local(2026, 12, 28, 10)) == 2 * H
    assert OFFICE.open_seconds_between(local(2026, 12, 24, 16), local(2026, 12, 28, 10)) == 10 * H


def test_the_autumn_dst_change_is_exact() -> None:
    every_day = BusinessHours(days=frozenset(range(7)), timezone="Europe/Berlin")
    # Sat 24 Oct 16:00 CEST → Sun 25 Oct 10:00 CET: the clocks went back overnight, 19 h on the wall.
    start, end = local(2026, 10, 24, 16), local(2026, 10, 25, 10)
    assert end - start == 19 * H
    assert every_day.open_seconds_between(start, end) == 2 * H
    all_day = BusinessHours(days=frozenset(range(7)), open=time(0), close=time(0), timezone="Europe/Berlin")
    assert all_day.open_seconds_between(local(2026, 10, 25), local(2026, 10, 26)) == 25 * H
    assert all_day.open_seconds_between(local(2026, 3, 29), local(2026, 3, 30)) == 23 * H


def test_open_hours_spanning_the_spring_change_lose_the_hour() -> None:
    night_shift = BusinessHours(days=frozenset(range(7)), open=time(1), close=time(5), timezone="Europe/Berlin")
    # 29 Mar 2026 02:00 CET jumps to 03:00 CEST: 01:00–05:00 local is only three hours that night.
    assert night_shift.open_seconds_between(local(2026, 3, 29), local(2026, 3, 30)) == 3 * H
    assert night_shift.open_seconds_between(local(2026, 3, 28), local(2026, 3, 29)) == 4 * H


@given(st.floats(0, 30 * 86400), st.floats(0, 30 * 86400), st.floats(0, 30 * 86400))
def test_open_seconds_add_up_over_adjacent_spans(a: float, b: float, c: float) -> None:
    base = local(2026, 10, 20)
    x, y, z = sorted((base + a, base + b, base + c))
    whole = OFFICE.open_seconds_between(x, z)
    assert whole == pytest.approx(OFFICE.open_seconds_between(x, y) + OFFICE.open_seconds_between(y, z))
    assert 0 <= whole <= z - x


def test_the_start_at_which_a_target_is_reached_skips_the_weekend() -> None:
    monday_10 = local(2026, 11, 23, 10)
    # One hour of target, seen at Monday 10:00: a wait that began Monday 09:00 or earlier is over; so is
    # one from Friday 18:00, whose open time is only Monday's 09:00–10:00.
    assert OFFICE.open_since(monday_10, 1 * H) == local(2026, 11, 23, 9)
    assert OFFICE.open_since(monday_10, 3 * H) == local(2026, 11, 20, 15)  # Friday 15:00
    assert OFFICE.open_until(local(2026, 11, 20, 16, 30), 1 * H) == local(2026, 11, 23, 9, 30)
    assert OFFICE.open_until(local(2026, 11, 21, 12), 1 * H) == local(2026, 11, 23, 10)  # from Saturday
    assert OFFICE.open_since(monday_10, 0) == monday_10 and OFFICE.open_until(monday_10, 0) == monday_10


def test_targets_over_the_autumn_change_count_the_extra_hour() -> None:
    all_day = BusinessHours(days=frozenset(range(7)), open=time(0), close=time(0), timezone="Europe/Berlin")
    # From Saturday 24 Oct 12:00, 24 h of open time end at Sunday 11:00 local: that day had 25 hours.
    assert all_day.open_until(local(2026, 10, 24, 12), 24 * H) == local(2026, 10, 25, 11)
    assert all_day.open_since(local(2026, 10, 25, 11), 24 * H) == local(2026, 10, 24, 12)


@given(st.floats(0, 30 * 86400), st.floats(1, 60 * H))
def test_open_since_and_open_until_invert_open_seconds(offset: float, target: float) -> None:
    point = local(2026, 10, 20) + offset
    start = OFFICE.open_since(point, target)
    assert start is not None
    assert OFFICE.open_seconds_between(start, point) == pytest.approx(target)
    assert OFFICE.open_seconds_between(start + 1, point) < target  # and it is the latest such start
    end = OFFICE.open_until(point, target)
    assert end is not None
    assert OFFICE.open_seconds_between(point, end) == pytest.approx(target)
    assert OFFICE.open_seconds_between(point, end - 1) < target  # and the earliest such end


def test_describe() -> None:
    assert OFFICE.describe() == "Mon–Fri 09:00–17:00 Europe/Berlin"
    weekend = BusinessHours(days=frozenset({5, 6}), open=time(10), close=time(0))
    assert weekend.describe() == "Sat, Sun 10:00–24:00 UTC"


def test_is_open() -> None:
    assert OFFICE.is_open(local(2026, 11, 20, 9))
    assert not OFFICE.is_open(local(2026, 11, 20, 17))
    assert not OFFICE.is_open(local(2026, 11, 21, 12))


def test_a_response_time_counts_all_seconds_or_only_open_ones() -> None:
    start, end = local(2026, 11, 20, 16, 0), local(2026, 11, 23, 10, 0)
    assert counted(start, end, OFFICE) == 2 * H  # Friday 16-17 and Monday 9-10
    assert counted(start, end, None) == 66 * H
    assert counted(end, start, None) == 0.0 and counted(end, start, OFFICE) == 0.0


def test_parse_rejects_bad_tables() -> None:
    with pytest.raises(HoursError, match="timezone"):
        parse_hours({"timezone": "Mars/Olympus"}, "hours")
    with pytest.raises(HoursError, match="days"):
        parse_hours({"days": ["funday"]}, "hours")
    with pytest.raises(HoursError, match="close"):
        parse_hours({"open": "18:00", "close": "09:00"}, "hours")
    with pytest.raises(HoursError, match="unknown"):
        parse_hours({"opens": "09:00"}, "hours")
    assert parse_hours({"open": "00:00", "close": "24:00"}, "hours").close == time(0)


def test_config_reads_default_and_per_account_hours(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[hours]\ntimezone = "Europe/Berlin"\nopen = "08:30"\nholidays = ["2026-12-25"]\n'
        '[hours.shop-mail]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat"]\nclose = "20:00"\n',
        encoding="utf-8")
    cfg = config.load(path)
    default = cfg.hours.for_account("x-main")
    assert default == BusinessHours(open=time(8, 30), timezone="Europe/Berlin",
                                    holidays=frozenset({date(2026, 12, 25)}))
    shop = cfg.hours.for_account("shop-mail")
    assert shop.days == frozenset(range(6)) and shop.close == time(20) and shop.open == time(8, 30)
    assert shop.timezone == "Europe/Berlin"
    assert config.load(tmp_path / "missing.toml").hours.for_account("x-main") is None


def test_config_reports_bad_hours(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[hours.mail]\ntimezone = "Nowhere/Land"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError, match="hours.mail"):
        config.load(path)


def test_the_readme_configuration_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "config.toml"
    path.write_text(example, encoding="utf-8")
    loaded = config.load(path)
    assert loaded.targets.target("public", "shop-x") == 30 * 60
    assert loaded.hours.for_account("shop-x").describe() == "Mon–Sat 09:00–17:00 Europe/Berlin"
    assert loaded.hours.for_account("other").holidays == frozenset({date(2026, 12, 25)})
