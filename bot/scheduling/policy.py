"""Which daily slot a family has next, and whether a due slot is sent now, later, or skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from bot.scheduling.clock import (
    QuietHours,
    allowed_stretches,
    in_quiet_hours,
    local_now,
    next_allowed,
    occurrence,
)

Kind = Literal["lesson", "checkin", "nudge"]
Decision = Literal["fire", "wait", "skip"]

# How long after its due instant a missed check-in or nudge is still worth sending. A lesson has
# no grace: it goes any time on its own local day, outside quiet hours.
CHECKIN_GRACE = timedelta(hours=3)
NUDGE_GRACE = timedelta(hours=6)
# A scheduled message opens a conversation ("Was today a use or non-use day?"), so it is never due
# in the last half hour before quiet hours (or the day) end: the family has time to answer and get
# our reply, and a tick that runs every few minutes cannot miss the window.
LAST_CALL = timedelta(minutes=30)
# Every real zone has free time on every day it has; a week without any is a broken setting.
_SEARCH_DAYS = 7


def _grace(kind: Kind) -> timedelta | None:
    return {"lesson": None, "checkin": CHECKIN_GRACE, "nudge": NUDGE_GRACE}[kind]


@dataclass(frozen=True)
class Slot:
    """One message owed to a family: its kind, the local day it belongs to, and when it is due.

    `local_date` is the dedupe key: a family has at most one slot of each kind per local day.
    `due_at` is an aware UTC instant outside quiet hours, on `local_date` in the family's zone.
    """

    kind: Kind
    local_date: date
    due_at: datetime

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise ValueError(f"Slot kind {self.kind!r} is not one of {', '.join(get_args(Kind))}.")
        if self.due_at.tzinfo is None:
            raise ValueError(
                f"Slot due_at {self.due_at.isoformat()} has no timezone; it must be an aware UTC "
                "instant."
            )


def due_instant(day: date, at: time, tz: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When the message a family scheduled for `at` on local `day` is due, in UTC.

    - Outside quiet hours, with LAST_CALL to spare before they start: at `at` itself.
    - Inside quiet hours that end later that day (07:00, quiet until 08:00): when they end.
    - In the last LAST_CALL before quiet hours, or when the rest of the day is quiet (a 22:00
      check-in with quiet hours from 21:00): LAST_CALL before quiet hours start (20:30), so the
      family still gets it that evening instead of never.
    None only for a day with no free time at all (a day the zone skipped).
    """
    try:
        scheduled = occurrence(day, at, tz)
    except ValueError:
        return None
    stretches = allowed_stretches(day, tz, quiet)
    if not stretches:
        return None
    following = [s for s in stretches if s[1] > scheduled]
    opens, closes = following[0] if following else stretches[-1]
    candidate = max(opens, scheduled) if following else closes
    if closes - candidate >= LAST_CALL:
        return candidate
    return max(opens, closes - LAST_CALL)


def decide(slot: Slot, now: datetime, tz: ZoneInfo, quiet: QuietHours) -> Decision:
    """What the tick does with `slot` at `now`.

    "wait": not yet (due_at is later, or quiet hours end in time later today); ask again later.
    "fire": send it now; it is its own local day, outside quiet hours, and within the grace.
    "skip": it was missed (after downtime); record it as skipped and move on to the next day.
    """
    now = local_now(now, tz).astimezone(UTC)
    if slot.due_at > now:
        return "wait"
    if local_now(now, tz).date() != slot.local_date:
        return "skip"  # its day is over: yesterday's check-in is never asked this morning
    grace = _grace(slot.kind)

    def in_time(instant: datetime) -> bool:
        return grace is None or instant - slot.due_at <= grace

    if not in_quiet_hours(now, tz, quiet):
        return "fire" if in_time(now) else "skip"
    resumes = next_allowed(now, tz, quiet)
    if (
        local_now(resumes, tz).date() == slot.local_date
        and in_time(resumes)
        and _open_for(resumes, slot.local_date, tz, quiet) >= LAST_CALL
    ):
        return "wait"  # a midday quiet spell that ends in time today
    # The rest of the day's free time is shorter than LAST_CALL (quiet until 23:46): like
    # `due_instant`, never start a conversation there; the next day's slot takes over.
    return "skip"


def _open_for(instant: datetime, day: date, tz: ZoneInfo, quiet: QuietHours) -> timedelta:
    """How long the free stretch of local `day` that starts at or holds `instant` stays open."""
    for opens, closes in allowed_stretches(day, tz, quiet):
        if opens <= instant < closes:
            return closes - instant
    return timedelta(0)


def next_slot(
    kind: Kind, at: time, tz: ZoneInfo, quiet: QuietHours, now: datetime, after: date | None
) -> Slot:
    """The family's next `kind` slot, as of `now`.

    It is the first local date that is today or later, later than `after` (the last date already
    delivered or skipped), has a due instant, and, if it is today, is not already too late to send
    (see `decide`). Never a date <= `after`, so never two slots of one kind on one local day.
    """
    today = local_now(now, tz).date()
    day = today if after is None else max(today, after + timedelta(days=1))
    for _ in range(_SEARCH_DAYS):
        due = due_instant(day, at, tz, quiet)
        if due is not None:
            slot = Slot(kind=kind, local_date=day, due_at=due)
            if decide(slot, now, tz, quiet) != "skip":
                return slot
        day += timedelta(days=1)
    raise ValueError(
        f"No {kind} could be scheduled at {at.isoformat()} in {tz.key} for {_SEARCH_DAYS} days "
        f"from {today.isoformat()}: quiet hours {quiet.start.isoformat()}-{quiet.end.isoformat()} "
        "must leave part of every day free."
    )
