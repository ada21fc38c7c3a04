"""Pure wall-clock arithmetic for family schedules: local days, DST gaps and overlaps, quiet
hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# No zone changes its offset twice within half an hour, so scanning at this step finds every change.
_SCAN_STEP = timedelta(minutes=30)
# Quiet hours last under 24 hours and an offset change is at most 2 hours (Antarctica/Troll), so the
# end of a quiet spell is always within this horizon.
_HORIZON = timedelta(hours=28)
_JUST_BEFORE = timedelta(microseconds=1)


MIN_FREE_MINUTES = 120


@dataclass(frozen=True)
class QuietHours:
    """Local wall times between which nothing but a crisis reply is sent.

    `start` > `end` wraps midnight (21:00-08:00 is the evening and the night); `start` == `end`
    means there are no quiet hours at all.
    """

    start: time = time(21, 0)
    end: time = time(8, 0)

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is not None:
                raise ValueError(
                    f"Quiet hours {name} {value.isoformat()} carries a timezone; quiet hours are "
                    "local wall times, so give a time without one."
                )
        if self.start != self.end and self.free_minutes() < MIN_FREE_MINUTES:
            raise ValueError(
                f"Quiet hours {self.start:%H:%M}-{self.end:%H:%M} leave only {self.free_minutes()} "
                f"minutes a day for messages; leave at least {MIN_FREE_MINUTES // 60} hours (a DST "
                "change can swallow a shorter gap)."
            )

    def free_minutes(self) -> int:
        """Minutes a day outside quiet hours (1440 when there are none)."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return 1440 if start == end else (start - end) % 1440

    def contains(self, local: time) -> bool:
        local = local.replace(tzinfo=None, fold=0)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{name} {instant.isoformat()} has no timezone; pass an aware datetime (UTC) so the "
            "family's local time can be worked out."
        )


def _require_naive(at: time, name: str) -> None:
    if at.tzinfo is not None:
        raise ValueError(
            f"{name} {at.isoformat()} carries a timezone; schedule times are local wall times in "
            "the family's zone, so give a time without one."
        )


def local_now(instant: datetime, tz: ZoneInfo) -> datetime:
    """The family's wall clock at `instant`."""
    _require_aware(instant, "Instant")
    return instant.astimezone(tz)


def in_quiet_hours(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.contains(local_now(instant, tz).time())


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _transitions(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """UTC instants in (lo, hi] at which the zone's offset changes (tzdata changes on whole
    seconds)."""
    found: list[datetime] = []
    left = lo.astimezone(UTC).replace(microsecond=0)
    while left < hi:
        right = min(
            left + _SCAN_STEP, hi.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        )
        if _offset(left, tz) != _offset(right, tz):
            a, b = left, right
            while b - a > timedelta(seconds=1):
                middle = a + timedelta(seconds=(b - a) // timedelta(seconds=1) // 2)
                if _offset(middle, tz) == _offset(a, tz):
                    a = middle
                else:
                    b = middle
            if lo < b <= hi:
                found.append(b)
        left = right
    return found


def _wall_instants(day: date, at: time, tz: ZoneInfo) -> list[datetime]:
    """Every UTC instant at which the local clock reads `at` on `day`: none in a gap, two in an
    overlap."""
    naive = datetime.combine(day, at)
    found: list[datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive and instant not in found:
            found.append(instant)
    return sorted(found)


def _occurrence_or_none(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    exact = _wall_instants(day, at, tz)
    if exact:
        return exact[0]  # in an overlap, the first time the clock shows `at`
    naive = datetime.combine(day, at)
    # PEP 495: a time in a gap read with fold=0 uses the offset from before the jump, which moves it
    # forward by the length of the gap (02:30 on a one-hour spring-forward -> 03:30).
    shifted = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if shifted.astimezone(tz).date() == day:
        return shifted
    # The gap runs to midnight (America/Nuuk jumps from 23:00 to 00:00): the last whole minute of
    # `day` before the jump, so that the day keeps its message.
    before_jump = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    jumps = _transitions(tz, before_jump, shifted)
    if not jumps:
        return None
    last_minute = jumps[0] - timedelta(minutes=1)
    return last_minute if last_minute.astimezone(tz).date() == day else None


def occurrence(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant the family's clock shows `at` on `day`.

    In an overlap (01:30 on a fall-back day) it is the first 01:30. In a gap (02:30 on a
    spring-forward day) the time moves forward by the length of the gap (03:30 local), so times
    keep their order and spacing. If that would leave `day` (a gap that runs to midnight), it is the
    last minute of `day` before the jump. Raises ValueError for a day the zone skipped entirely.
    """
    _require_naive(at, "Time")
    found = _occurrence_or_none(day, at, tz)
    if found is None:
        raise ValueError(
            f"{day.isoformat()} never happened in {tz.key}: the clock skipped the whole day, so "
            f"there is no {at.isoformat()} on it."
        )
    return found


def _boundaries(tz: ZoneInfo, quiet: QuietHours, lo: datetime, hi: datetime) -> list[datetime]:
    """Every instant in [lo, hi] at which being inside quiet hours can change."""
    points = set(_transitions(tz, lo, hi))
    first, last = local_now(lo, tz).date(), local_now(hi, tz).date()
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        for wall in (quiet.start, quiet.end):
            points.update(i for i in _wall_instants(day, wall, tz) if lo <= i <= hi)
        day += timedelta(days=1)
    return sorted(points)


def next_allowed(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """`instant` (in UTC) if it is outside quiet hours, else the first instant they end."""
    instant = local_now(instant, tz).astimezone(UTC)
    if not in_quiet_hours(instant, tz, quiet):
        return instant
    for point in _boundaries(tz, quiet, instant, instant + _HORIZON):
        if point > instant and not in_quiet_hours(point, tz, quiet):
            return point
    raise RuntimeError(
        f"Quiet hours {quiet.start}-{quiet.end} in {tz.key} did not end within {_HORIZON} of "
        f"{instant.isoformat()}; quiet hours must leave part of every day free."
    )


def _day_start(day: date, tz: ZoneInfo) -> datetime | None:
    """The first instant whose local date is `day`, or None if the zone skipped that day."""
    midnight = _wall_instants(day, time(0, 0), tz)
    if midnight:
        return midnight[0]
    # Midnight fell in a gap (Cuba, Chile: 00:00 -> 01:00): the day starts at the jump.
    naive = datetime.combine(day, time(0, 0))
    jumps = _transitions(
        tz,
        naive.replace(tzinfo=tz, fold=1).astimezone(UTC),
        naive.replace(tzinfo=tz, fold=0).astimezone(UTC),
    )
    if jumps and jumps[0].astimezone(tz).date() == day:
        return jumps[0]
    return None


def day_end(day: date, tz: ZoneInfo) -> datetime:
    """The first instant after the local day `day`: the next day's start (a skipped day, as
    Samoa skipped 30 December 2011, moves it on)."""
    for ahead in range(1, 4):
        start = _day_start(day + timedelta(days=ahead), tz)
        if start is not None:
            return start
    raise ValueError(f"no day after {day} in {tz.key}")  # no zone skips three days


@lru_cache(maxsize=4096)
def allowed_stretches(
    day: date, tz: ZoneInfo, quiet: QuietHours
) -> tuple[tuple[datetime, datetime], ...]:
    """The half-open UTC intervals of local `day` that lie outside quiet hours, in order.

    Remembered per (day, zone, quiet hours) for the life of the process: it is pure, it walks
    the zone's transitions (~0.6 ms), and every confirmation that names a time asks it again
    (bot/runtime/family_clock.py `awake_time`); a day's answer never changes.
    """
    start = _day_start(day, tz)
    if start is None:
        return ()
    end: datetime | None = None
    for ahead in (1, 2, 3):
        end = _day_start(day + timedelta(days=ahead), tz)
        if end is not None:
            break
    if end is None:
        raise RuntimeError(
            f"{tz.key} skipped three days after {day.isoformat()}; no zone does that."
        )
    points = [start, *(p for p in _boundaries(tz, quiet, start, end) if start < p < end), end]
    stretches: list[tuple[datetime, datetime]] = []
    for left, right in zip(points, points[1:], strict=False):
        if in_quiet_hours(left, tz, quiet):
            continue
        if stretches and stretches[-1][1] == left:
            stretches[-1] = (stretches[-1][0], right)
        else:
            stretches.append((left, right))
    return tuple(stretches)


def send_instant(day: date, at: time, tz: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When a message for local `day` at `at` may go: its occurrence moved forward out of quiet
    hours if that is still on `day`; None if the rest of `day` is quiet (or the day never was)."""
    _require_naive(at, "Time")
    scheduled = _occurrence_or_none(day, at, tz)
    if scheduled is None:
        return None
    for left, right in allowed_stretches(day, tz, quiet):
        if right > scheduled:
            return max(left, scheduled)
    return None
