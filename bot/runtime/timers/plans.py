"""When each family's next daily lesson, check-in and nudge are due: the rows of `timers`.

The daily kinds are computed by bot.scheduling (pure, through the family's clock) and fired by
the tick; a row in `deliveries` keyed by (contact, kind, local date) makes a second send on one
day impossible.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from bot.runtime.family import Family
from bot.runtime.family_clock import parse_hhmm

DAILY = ("lesson", "checkin", "nudge")
NUDGE_EVERY_DAYS = 3  # self-care nudges come every third day, between lesson and check-in
NUDGE_TIME = "13:00"
TimerKey = tuple[int, str]  # (contact id, kind): a family has at most one timer of each kind
TimerRow = dict[str, Any]


def timer_row(
    contact_id: int,
    kind: str,
    due_at: datetime,
    local_date: date | None = None,
    seq: int | None = None,
) -> TimerRow:
    """The values of one `timers` row."""
    return {
        "contact_id": contact_id,
        "kind": kind,
        "due_at": due_at,
        "local_date": local_date,
        "seq": seq,
    }


def daily_time(family: Family, kind: str) -> time | None:
    """The local time of day this family gets `kind`, or None when they have none set."""
    if kind == "lesson":
        text = family.lesson_time
    elif kind == "checkin":
        text = family.checkin_time
    elif kind == "nudge":
        text = NUDGE_TIME
    else:
        raise KeyError(kind)
    return _hhmm(text) if text else None


def plan_from(kind: str, after: date | None) -> date | None:
    """The day to plan after: nudges skip NUDGE_EVERY_DAYS - 1 days between them."""
    if kind == "nudge" and after is not None:
        return after + timedelta(days=NUDGE_EVERY_DAYS - 1)
    return after


def next_daily(family: Family, kind: str, now: datetime, after: date | None) -> TimerRow | None:
    """The family's next `kind` timer after local day `after`; None when they have no time set
    for it."""
    at = daily_time(family, kind)
    if at is None:
        return None
    slot = family.clock.next_slot(kind, at, now, plan_from(kind, after))  # type: ignore[arg-type]
    return timer_row(family.id, kind, slot.due_at, slot.local_date)


def reschedule(
    family: Family, last: Mapping[TimerKey, date], now: datetime
) -> dict[TimerKey, TimerRow | None]:
    """Every daily timer of this family afresh, after a change of times, zone or consent
    (`last`: the latest day each kind was delivered). None: no such timer."""
    if family.status != "active":
        return {(family.id, kind): None for kind in DAILY}
    return {
        (family.id, kind): next_daily(family, kind, now, last.get((family.id, kind)))
        for kind in DAILY
    }


@cache
def _hhmm(text: str) -> time:
    return parse_hhmm(text)
