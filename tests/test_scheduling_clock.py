"""Wall clocks, DST gaps and overlaps, and quiet hours: worked examples and properties over real
zones."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.scheduling.clock import (
    QuietHours,
    allowed_stretches,
    in_quiet_hours,
    local_now,
    next_allowed,
    occurrence,
    send_instant,
)

NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
PHOENIX = ZoneInfo("America/Phoenix")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
NUUK = ZoneInfo("America/Nuuk")
HAVANA = ZoneInfo("America/Havana")
DEFAULT_QUIET = QuietHours()
NO_QUIET = QuietHours(time(0, 0), time(0, 0))

NOTABLE_ZONES = [
    "America/Phoenix",
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/Nuuk",
    "America/Havana",
    "America/Santiago",
    "Antarctica/Troll",
    "Pacific/Kiritimati",
    "UTC",
]
ALL_ZONES = sorted(available_timezones() - {"Factory", "localtime"})
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2030, 12, 31)
PROPERTY = settings(max_examples=200, deadline=None)


def wall(instant: datetime, tz: ZoneInfo) -> tuple[date, time]:
    local = instant.astimezone(tz)
    return local.date(), local.time()


@functools.cache
def transition_days(name: str) -> tuple[date, ...]:
    """Local days around each offset change of the zone in 2024-2030."""
    tz = ZoneInfo(name)
    days: set[date] = set()
    day = FIRST_DAY
    while day <= LAST_DAY:
        noon = datetime.combine(day, time(12), UTC)
        if noon.astimezone(tz).utcoffset() != (noon + timedelta(days=1)).astimezone(tz).utcoffset():
            days.update(day + timedelta(days=k) for k in range(0, 3))
        day += timedelta(days=1)
    return tuple(sorted(days))


zones = st.one_of(st.sampled_from(NOTABLE_ZONES), st.sampled_from(ALL_ZONES))
minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
times = st.one_of(minute_times, st.times())
quiet_hours = st.one_of(
    st.just(DEFAULT_QUIET),
    st.just(NO_QUIET),
    # Any start, leaving between 2 hours (the least QuietHours accepts) and 23:59 free.
    st.builds(
        lambda start, free: QuietHours(
            start, (datetime.combine(date(2025, 1, 1), start) - timedelta(minutes=free)).time()
        ),
        minute_times,
        st.integers(120, 1439),
    ),
)


@st.composite
def zone_and_day(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    name = draw(zones)
    special = transition_days(name)
    use_special: bool = draw(st.booleans())
    if special and use_special:
        return ZoneInfo(name), draw(st.sampled_from(special))
    return ZoneInfo(name), draw(st.dates(FIRST_DAY, LAST_DAY))


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    tz, day = draw(zone_and_day())
    start = datetime.combine(day, time(0), UTC) - timedelta(hours=14)
    return tz, start + timedelta(seconds=draw(st.integers(0, 52 * 3600)))


# --- worked examples ------------------------------------------------------------------------


def test_quiet_hours_wrap_midnight_and_equal_ends_mean_none() -> None:
    assert DEFAULT_QUIET.contains(time(21, 0)) and DEFAULT_QUIET.contains(time(3, 0))
    assert not DEFAULT_QUIET.contains(time(8, 0)) and not DEFAULT_QUIET.contains(time(20, 59))
    daytime_nap = QuietHours(time(13, 0), time(15, 0))
    assert daytime_nap.contains(time(14, 0)) and not daytime_nap.contains(time(15, 0))
    assert not NO_QUIET.contains(time(3, 0))


def test_quiet_hours_refuse_a_time_with_a_zone() -> None:
    with pytest.raises(ValueError, match="local wall times"):
        QuietHours(start=time(21, 0, tzinfo=UTC))


def test_naive_instant_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="has no timezone"):
        local_now(datetime(2024, 5, 1, 9, 0), MADRID)


def test_spring_forward_gap_moves_the_time_forward_by_the_gap() -> None:
    # Given 02:30 on New York's spring-forward day, when the clock jumps 02:00 -> 03:00,
    # then the occurrence is 03:30 local, still that day.
    assert wall(occurrence(date(2024, 3, 10), time(2, 30), NEW_YORK), NEW_YORK) == (
        date(2024, 3, 10),
        time(3, 30),
    )
    assert wall(occurrence(date(2024, 3, 31), time(2, 30), MADRID), MADRID) == (
        date(2024, 3, 31),
        time(3, 30),
    )
    # Lord Howe springs forward only 30 minutes (02:00 -> 02:30).
    assert wall(occurrence(date(2024, 10, 6), time(2, 15), LORD_HOWE), LORD_HOWE) == (
        date(2024, 10, 6),
        time(2, 45),
    )


def test_fall_back_overlap_takes_the_first_occurrence() -> None:
    first = occurrence(date(2024, 11, 3), time(1, 30), NEW_YORK)
    assert first == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST
    assert occurrence(date(2024, 10, 27), time(2, 30), MADRID) == datetime(
        2024, 10, 27, 0, 30, tzinfo=UTC
    )  # 02:30 CEST


def test_phoenix_has_no_gap_on_the_us_spring_forward_day() -> None:
    assert wall(occurrence(date(2024, 3, 10), time(2, 30), PHOENIX), PHOENIX) == (
        date(2024, 3, 10),
        time(2, 30),
    )


def test_gap_that_runs_to_midnight_keeps_the_day() -> None:
    # Nuuk jumps from 23:00 on 30 March 2024 straight to 00:00 on the 31st: 23:30 never happens,
    # so the occurrence is the last minute before the jump rather than a time on the next day.
    assert wall(occurrence(date(2024, 3, 30), time(23, 30), NUUK), NUUK) == (
        date(2024, 3, 30),
        time(22, 59),
    )


def test_a_skipped_day_has_no_occurrence_and_no_send_instant() -> None:
    apia = ZoneInfo("Pacific/Apia")  # Samoa skipped 30 December 2011
    with pytest.raises(ValueError, match="never happened in Pacific/Apia"):
        occurrence(date(2011, 12, 30), time(9, 0), apia)
    assert send_instant(date(2011, 12, 30), time(9, 0), apia, DEFAULT_QUIET) is None
    assert send_instant(date(2011, 12, 31), time(9, 0), apia, DEFAULT_QUIET) is not None


def test_havana_day_starts_at_the_midnight_jump() -> None:
    stretches = allowed_stretches(date(2024, 3, 10), HAVANA, NO_QUIET)
    assert [(wall(a, HAVANA), wall(b, HAVANA)) for a, b in stretches] == [
        ((date(2024, 3, 10), time(1, 0)), (date(2024, 3, 11), time(0, 0)))
    ]


def test_lesson_at_seven_waits_for_quiet_hours_to_end_at_eight() -> None:
    sent = send_instant(date(2024, 6, 3), time(7, 0), MADRID, DEFAULT_QUIET)
    assert sent is not None and wall(sent, MADRID) == (date(2024, 6, 3), time(8, 0))


def test_check_in_inside_evening_quiet_hours_has_no_send_instant() -> None:
    assert send_instant(date(2024, 6, 3), time(22, 0), PHOENIX, DEFAULT_QUIET) is None


def test_time_outside_quiet_hours_is_sent_as_scheduled() -> None:
    sent = send_instant(date(2024, 6, 3), time(19, 30), PHOENIX, DEFAULT_QUIET)
    assert sent == datetime(2024, 6, 4, 2, 30, tzinfo=UTC)


def test_quiet_hours_ending_inside_a_gap_end_at_the_jump() -> None:
    quiet = QuietHours(time(21, 0), time(2, 30))
    during = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert wall(next_allowed(during, NEW_YORK, quiet), NEW_YORK) == (date(2024, 3, 10), time(3, 0))


def test_quiet_hours_ending_inside_an_overlap_end_twice() -> None:
    # Quiet until 01:30 on New York's fall-back night: free at 01:30 EDT, quiet again when the
    # clock falls back to 01:00 EST, free again at 01:30 EST.
    quiet = QuietHours(time(21, 0), time(1, 30))
    assert next_allowed(datetime(2024, 11, 3, 5, 10, tzinfo=UTC), NEW_YORK, quiet) == datetime(
        2024, 11, 3, 5, 30, tzinfo=UTC
    )
    assert in_quiet_hours(datetime(2024, 11, 3, 6, 10, tzinfo=UTC), NEW_YORK, quiet)
    assert next_allowed(datetime(2024, 11, 3, 6, 10, tzinfo=UTC), NEW_YORK, quiet) == datetime(
        2024, 11, 3, 6, 30, tzinfo=UTC
    )


# --- properties -----------------------------------------------------------------------------


@PROPERTY
@given(zone_and_day(), times)
def test_occurrence_stays_on_its_day_and_shows_the_time_when_it_exists(
    zd: tuple[ZoneInfo, date], at: time
) -> None:
    tz, day = zd
    instant = occurrence(day, at, tz)
    local = instant.astimezone(tz)
    assert local.date() == day
    naive = datetime.combine(day, at)
    exists = [
        i
        for fold in (0, 1)
        if (i := naive.replace(tzinfo=tz, fold=fold).astimezone(UTC))
        .astimezone(tz)
        .replace(tzinfo=None)
        == naive
    ]
    if exists:
        assert instant == min(exists)
    else:
        assert local.replace(tzinfo=None) != naive


@PROPERTY
@given(zone_and_day(), times, quiet_hours)
def test_send_instant_is_never_in_quiet_hours_and_never_early(
    zd: tuple[ZoneInfo, date], at: time, quiet: QuietHours
) -> None:
    tz, day = zd
    scheduled = occurrence(day, at, tz)
    sent = send_instant(day, at, tz, quiet)
    if sent is None:
        # Then the rest of the day really is quiet.
        assert in_quiet_hours(scheduled, tz, quiet)
        assert next_allowed(scheduled, tz, quiet).astimezone(tz).date() > day
    else:
        assert sent.astimezone(tz).date() == day
        assert not in_quiet_hours(sent, tz, quiet)
        assert sent >= scheduled
        # It is the scheduled instant itself or the moment quiet hours ended, not later.
        assert sent == scheduled or in_quiet_hours(sent - timedelta(microseconds=1), tz, quiet)


@PROPERTY
@given(zone_and_instant(), quiet_hours)
def test_next_allowed_is_the_first_free_instant(
    zi: tuple[ZoneInfo, datetime], quiet: QuietHours
) -> None:
    tz, instant = zi
    free = next_allowed(instant, tz, quiet)
    assert free.tzinfo == UTC
    assert free >= instant and not in_quiet_hours(free, tz, quiet)
    probe = instant
    while probe < free:
        assert in_quiet_hours(probe, tz, quiet)
        probe += timedelta(minutes=7)


@PROPERTY
@given(zone_and_day(), quiet_hours)
def test_allowed_stretches_cover_the_free_part_of_the_day(
    zd: tuple[ZoneInfo, date], quiet: QuietHours
) -> None:
    tz, day = zd
    stretches = allowed_stretches(day, tz, quiet)
    for left, right in stretches:
        assert left < right
        assert left.astimezone(tz).date() == day
        assert (right - timedelta(microseconds=1)).astimezone(tz).date() == day
        assert not in_quiet_hours(left, tz, quiet)
        assert not in_quiet_hours(right - timedelta(microseconds=1), tz, quiet)
    for (_, right), (left, _) in zip(stretches, stretches[1:], strict=False):
        assert right < left and in_quiet_hours(right, tz, quiet)


def test_quiet_hours_that_leave_almost_no_time_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="leave only 1 minutes a day"):
        QuietHours(time(3, 1), time(3, 0))
    assert QuietHours(time(21, 0), time(8, 0)).free_minutes() == 13 * 60
