"""Catch-up policy and next slots: worked examples, properties, and simulated month-long tick
walks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.scheduling.clock import QuietHours, in_quiet_hours, send_instant
from bot.scheduling.policy import (
    CHECKIN_GRACE,
    Decision,
    Kind,
    Slot,
    decide,
    due_instant,
    next_slot,
)
from tests.test_scheduling_clock import (
    DEFAULT_QUIET,
    NO_QUIET,
    PROPERTY,
    minute_times,
    quiet_hours,
    times,
    zone_and_day,
    zone_and_instant,
)

MADRID = ZoneInfo("Europe/Madrid")
PHOENIX = ZoneInfo("America/Phoenix")
NEW_YORK = ZoneInfo("America/New_York")
TICK = timedelta(minutes=15)
kinds = st.sampled_from(["lesson", "checkin", "nudge"])


def at_local(tz: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tz).astimezone(UTC)


def local(instant: datetime, tz: ZoneInfo) -> tuple[date, time]:
    moment = instant.astimezone(tz)
    return moment.date(), moment.time()


# --- worked examples ------------------------------------------------------------------------

JUNE_3 = date(2025, 6, 3)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(19, 0), time(19, 0)),  # an ordinary evening check-in goes when chosen
        (time(7, 0), time(8, 0)),  # before quiet hours end: when they end
        (time(20, 30), time(20, 30)),  # exactly LAST_CALL before quiet hours: as chosen
        (time(20, 45), time(20, 30)),  # too close to quiet hours: half an hour before them
        (time(22, 0), time(20, 30)),  # rest of the day quiet: that evening, not never
        (time(2, 0), time(8, 0)),  # middle of the night: that morning
    ],
)
def test_due_instant_in_madrid(at: time, expected: time) -> None:
    due = due_instant(JUNE_3, at, MADRID, DEFAULT_QUIET)
    assert due is not None and local(due, MADRID) == (JUNE_3, expected)


def test_phoenix_and_madrid_families_each_get_their_own_nine_oclock() -> None:
    now = datetime(2025, 6, 3, 5, 0, tzinfo=UTC)  # 07:00 in Madrid, 22:00 the day before in Phoenix
    madrid = next_slot("lesson", time(9, 0), MADRID, DEFAULT_QUIET, now, None)
    phoenix = next_slot("lesson", time(9, 0), PHOENIX, DEFAULT_QUIET, now, None)
    assert madrid.due_at == datetime(2025, 6, 3, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert phoenix.due_at == datetime(2025, 6, 3, 16, 0, tzinfo=UTC)  # 09:00 MST
    assert (madrid.local_date, phoenix.local_date) == (JUNE_3, JUNE_3)


def test_lesson_missed_in_the_morning_is_still_sent_in_the_afternoon() -> None:
    # Given a 09:00 lesson and workers down from 08:30 until a deploy at 14:00,
    slot = next_slot(
        "lesson", time(9, 0), MADRID, DEFAULT_QUIET, at_local(MADRID, JUNE_3, 8, 30), None
    )
    # when the tick runs at 14:00, then the lesson goes out.
    assert decide(slot, at_local(MADRID, JUNE_3, 14), MADRID, DEFAULT_QUIET) == "fire"
    assert decide(slot, at_local(MADRID, JUNE_3, 20, 59), MADRID, DEFAULT_QUIET) == "fire"


def test_lesson_missed_all_day_is_skipped_not_sent_in_quiet_hours_or_tomorrow() -> None:
    slot = next_slot(
        "lesson", time(9, 0), MADRID, DEFAULT_QUIET, at_local(MADRID, JUNE_3, 8, 30), None
    )
    assert decide(slot, at_local(MADRID, JUNE_3, 21, 30), MADRID, DEFAULT_QUIET) == "skip"
    assert decide(slot, at_local(MADRID, JUNE_3 + timedelta(1), 8), MADRID, DEFAULT_QUIET) == "skip"
    # and the next slot is tomorrow's lesson, at its usual time.
    after = next_slot(
        "lesson",
        time(9, 0),
        MADRID,
        DEFAULT_QUIET,
        at_local(MADRID, JUNE_3 + timedelta(1), 8),
        slot.local_date,
    )
    assert local(after.due_at, MADRID) == (JUNE_3 + timedelta(1), time(9, 0))


def test_yesterdays_check_in_is_never_asked_at_eight_in_the_morning() -> None:
    slot = next_slot(
        "checkin", time(19, 0), PHOENIX, DEFAULT_QUIET, at_local(PHOENIX, JUNE_3, 12), None
    )
    assert (
        decide(slot, at_local(PHOENIX, JUNE_3 + timedelta(1), 8), PHOENIX, DEFAULT_QUIET) == "skip"
    )


@pytest.mark.parametrize(
    ("kind", "minutes_late", "expected"),
    [
        ("checkin", 0, "fire"),
        ("checkin", 180, "fire"),  # exactly CHECKIN_GRACE late
        ("checkin", 181, "skip"),
        ("nudge", 360, "fire"),  # exactly NUDGE_GRACE late
        ("nudge", 361, "skip"),
        ("lesson", 600, "fire"),  # a lesson has the whole day
    ],
)
def test_grace_windows_without_quiet_hours(
    kind: Kind, minutes_late: int, expected: Decision
) -> None:
    slot = Slot(kind, JUNE_3, at_local(PHOENIX, JUNE_3, 10))
    now = slot.due_at + timedelta(minutes=minutes_late)
    assert decide(slot, now, PHOENIX, NO_QUIET) == expected


def test_check_in_within_grace_is_still_skipped_once_quiet_hours_start() -> None:
    slot = Slot("checkin", JUNE_3, at_local(PHOENIX, JUNE_3, 20))
    assert decide(slot, at_local(PHOENIX, JUNE_3, 20, 50), PHOENIX, DEFAULT_QUIET) == "fire"
    assert decide(slot, at_local(PHOENIX, JUNE_3, 21, 5), PHOENIX, DEFAULT_QUIET) == "skip"


def test_midday_quiet_spell_makes_a_due_lesson_wait_not_skip() -> None:
    nap = QuietHours(time(13, 0), time(15, 0))
    slot = Slot("lesson", JUNE_3, at_local(MADRID, JUNE_3, 12, 0))
    assert decide(slot, at_local(MADRID, JUNE_3, 14), MADRID, nap) == "wait"
    assert decide(slot, at_local(MADRID, JUNE_3, 15), MADRID, nap) == "fire"


def test_slot_not_yet_due_waits() -> None:
    slot = Slot("checkin", JUNE_3, at_local(MADRID, JUNE_3, 19))
    assert decide(slot, at_local(MADRID, JUNE_3, 18, 59), MADRID, DEFAULT_QUIET) == "wait"


def test_next_slot_never_repeats_a_delivered_day() -> None:
    now = at_local(MADRID, JUNE_3, 9, 5)
    slot = next_slot("lesson", time(9, 0), MADRID, DEFAULT_QUIET, now, after=JUNE_3)
    assert slot.local_date == JUNE_3 + timedelta(1)


def test_check_in_too_late_today_schedules_tomorrow() -> None:
    now = at_local(MADRID, JUNE_3, 20, 30)
    slot = next_slot("checkin", time(17, 0), MADRID, DEFAULT_QUIET, now, None)
    assert local(slot.due_at, MADRID) == (JUNE_3 + timedelta(1), time(17, 0))


def test_dst_days_in_new_york_keep_one_lesson_each() -> None:
    spring = next_slot(
        "lesson", time(2, 30), NEW_YORK, NO_QUIET, datetime(2025, 3, 9, 5, 0, tzinfo=UTC), None
    )
    fall = next_slot(
        "lesson", time(1, 30), NEW_YORK, NO_QUIET, datetime(2025, 11, 2, 4, 0, tzinfo=UTC), None
    )
    assert local(spring.due_at, NEW_YORK) == (date(2025, 3, 9), time(3, 30))
    assert fall.due_at == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)
    second = next_slot(
        "lesson", time(1, 30), NEW_YORK, NO_QUIET, fall.due_at + timedelta(hours=1), fall.local_date
    )
    assert second.local_date == date(2025, 11, 3)


def test_bad_slot_values_are_refused_with_sentences() -> None:
    with pytest.raises(ValueError, match="'followup' is not one of lesson, checkin, nudge"):
        Slot("followup", JUNE_3, at_local(MADRID, JUNE_3, 9))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no timezone"):
        Slot("lesson", JUNE_3, datetime(2025, 6, 3, 9))


# --- properties -----------------------------------------------------------------------------


@PROPERTY
@given(zone_and_instant(), kinds, times, quiet_hours, st.integers(-3, 3))
def test_next_slot_is_on_time_out_of_quiet_hours_and_after_the_last_day(
    zi: tuple[ZoneInfo, datetime], kind: Kind, at: time, quiet: QuietHours, after_shift: int
) -> None:
    tz, now = zi
    today = now.astimezone(tz).date()
    after = today + timedelta(days=after_shift)
    slot = next_slot(kind, at, tz, quiet, now, after)
    assert slot.local_date >= today and slot.local_date > after
    assert slot.due_at.astimezone(tz).date() == slot.local_date
    assert not in_quiet_hours(slot.due_at, tz, quiet)
    assert decide(slot, now, tz, quiet) in ("fire", "wait")


@PROPERTY
@given(zone_and_day(), times, quiet_hours)
def test_due_instant_exists_whenever_send_instant_does(
    zd: tuple[ZoneInfo, date], at: time, quiet: QuietHours
) -> None:
    tz, day = zd
    due = due_instant(day, at, tz, quiet)
    if send_instant(day, at, tz, quiet) is not None:
        assert due is not None
    if due is not None:
        assert due.astimezone(tz).date() == day and not in_quiet_hours(due, tz, quiet)


@PROPERTY
@given(zone_and_instant(), kinds, times, quiet_hours)
def test_consecutive_slots_cover_every_day_once(
    zi: tuple[ZoneInfo, datetime], kind: Kind, at: time, quiet: QuietHours
) -> None:
    tz, now = zi
    slot = next_slot(kind, at, tz, quiet, now, None)
    for _ in range(6):
        following = next_slot(kind, at, tz, quiet, now, slot.local_date)
        assert following.local_date > slot.local_date
        assert following.due_at > slot.due_at
        skipped = slot.local_date + timedelta(days=1)
        while skipped < following.local_date:  # only days with no free time at all
            assert due_instant(skipped, at, tz, quiet) is None
            skipped += timedelta(days=1)
        slot = following


@PROPERTY
@given(zone_and_instant(), kinds, times, quiet_hours, st.integers(0, 40 * 3600))
def test_decide_fires_only_on_the_slot_day_outside_quiet_hours_within_grace(
    zi: tuple[ZoneInfo, datetime], kind: Kind, at: time, quiet: QuietHours, later: int
) -> None:
    tz, start = zi
    slot = next_slot(kind, at, tz, quiet, start, None)
    now = start + timedelta(seconds=later)
    if decide(slot, now, tz, quiet) == "fire":
        assert now >= slot.due_at
        assert now.astimezone(tz).date() == slot.local_date
        assert not in_quiet_hours(now, tz, quiet)
        if kind == "checkin":
            assert now - slot.due_at <= CHECKIN_GRACE


# --- a month of ticks -----------------------------------------------------------------------


def walk(
    tz: ZoneInfo, kind: Kind, at: time, quiet: QuietHours, start: datetime, days: int
) -> tuple[list[tuple[date, datetime]], list[date]]:
    """Tick every 15 minutes for `days` days as the worker would; return (fired, skipped)."""
    fired: list[tuple[date, datetime]] = []
    skipped: list[date] = []
    slot = next_slot(kind, at, tz, quiet, start, None)
    now = start
    while now < start + timedelta(days=days):
        while (decision := decide(slot, now, tz, quiet)) != "wait":
            (
                skipped.append(slot.local_date)
                if decision == "skip"
                else fired.append((slot.local_date, now))
            )
            slot = next_slot(kind, at, tz, quiet, now, slot.local_date)
        now += TICK
    return fired, skipped


def assert_one_a_day(
    tz: ZoneInfo,
    quiet: QuietHours,
    fired: list[tuple[date, datetime]],
    skipped: list[date],
    start: datetime,
    days: int,
) -> None:
    assert skipped == []
    dates = [day for day, _ in fired]
    first_full, last_full = (
        start.astimezone(tz).date() + timedelta(days=1),
        (start + timedelta(days=days)).astimezone(tz).date() - timedelta(1),
    )
    expected = [first_full + timedelta(days=k) for k in range((last_full - first_full).days + 1)]
    assert [d for d in dates if first_full <= d <= last_full] == expected
    assert len(dates) == len(set(dates))
    for day, when in fired:
        assert when.astimezone(tz).date() == day and not in_quiet_hours(when, tz, quiet)


WALKS = [
    ("America/New_York", date(2025, 2, 25)),
    ("America/New_York", date(2025, 10, 20)),
    ("Europe/Madrid", date(2025, 3, 20)),
    ("Europe/Madrid", date(2025, 10, 15)),
    ("America/Phoenix", date(2025, 3, 1)),
    ("Australia/Lord_Howe", date(2025, 3, 25)),
    ("Pacific/Chatham", date(2025, 9, 15)),
    ("Asia/Kathmandu", date(2025, 1, 1)),
    ("America/Nuuk", date(2025, 3, 20)),
    ("America/Havana", date(2025, 3, 1)),
]


@pytest.mark.parametrize(("zone", "first_day"), WALKS)
@pytest.mark.parametrize(
    ("kind", "at"),
    [
        ("lesson", time(9, 0)),
        ("lesson", time(2, 30)),
        ("checkin", time(19, 0)),
        ("checkin", time(22, 0)),
        ("checkin", time(1, 30)),
    ],
)
def test_thirty_days_of_ticks_give_one_message_a_day(
    zone: str, first_day: date, kind: Kind, at: time
) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(first_day, time(12), UTC)
    fired, skipped = walk(tz, kind, at, DEFAULT_QUIET, start, 30)
    assert_one_a_day(tz, DEFAULT_QUIET, fired, skipped, start, 30)


def minutes_after_midnight(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def roomy_quiet_hours(start: time, hours_free: int) -> QuietHours:
    """Quiet hours that leave `hours_free` free hours a day, so a 15-minute tick cannot miss
    them."""
    end = datetime.combine(date(2025, 1, 1), start) - timedelta(hours=hours_free)
    return QuietHours(start, end.time())


@settings(max_examples=12, deadline=None)
@given(zone_and_day(), kinds, minute_times, minute_times, st.integers(2, 20))
def test_random_month_walks_give_one_message_a_day(
    zd: tuple[ZoneInfo, date], kind: Kind, at: time, quiet_start: time, hours_free: int
) -> None:
    tz, day = zd
    quiet = roomy_quiet_hours(quiet_start, hours_free)
    # A free window across local midnight is two stretches, one per local day; a piece shorter
    # than a tick plus LAST_CALL can fall between two 15-minute ticks (the worker ticks every 15 s).
    assume(
        min(minutes_after_midnight(quiet_start), 1440 - minutes_after_midnight(quiet.end)) >= 45
        or minutes_after_midnight(quiet.end) < minutes_after_midnight(quiet_start)
    )
    start = datetime.combine(day, time(0), UTC) - timedelta(days=10)
    fired, skipped = walk(tz, kind, at, quiet, start, 30)
    assert_one_a_day(tz, quiet, fired, skipped, start, 30)
