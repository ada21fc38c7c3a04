"""A walk through time for a few families: ticks at a cadence with downtime, then the rules checked.

The expected deliveries are worked out here from the tick instants alone, independently of the
runtime: a day's lesson goes at the first tick of that local day that is at or after its due
instant and outside quiet hours (a check-in also within its 3-hour grace), unless the family is
paused at that tick. Comparing against that set proves "never skip, never double" at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.clock import QuietHours, in_quiet_hours
from bot.scheduling.policy import CHECKIN_GRACE, due_instant
from tests.fictional import phone
from tests.workers.rig import Rig

DEFAULT_QUIET = ("21:00", "08:00")
REPLY_WINDOW = timedelta(minutes=30)  # REPLY_WINDOW_MINUTES' default
CHECKIN = "checkin.question"


@dataclass(frozen=True)
class Family:
    zone: str
    lesson: str = "09:00"
    checkin: str = "19:00"
    quiet: tuple[str, str] | None = None  # None: the deployment's default, 21:00-08:00

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def hours(self) -> QuietHours:
        start, end = self.quiet or DEFAULT_QUIET
        return QuietHours(hhmm(start), hhmm(end))


@dataclass(frozen=True)
class Walk:
    families: tuple[Family, ...]
    start: datetime
    hours: int = 72
    cadence: timedelta = timedelta(minutes=15)
    down: tuple[tuple[timedelta, timedelta], ...] = ()  # (from start, how long) with no ticks
    says: tuple[tuple[int, timedelta, str], ...] = ()  # (family index, from start, text)

    def ticks(self) -> list[datetime]:
        out, at, end = [], self.start, self.start + timedelta(hours=self.hours)
        while at <= end:
            if not any(self.start + a <= at < self.start + a + b for a, b in self.down):
                out.append(at)
            at += self.cadence
        return out


@dataclass
class Outcome:
    ids: list[int]
    ticks: list[datetime]
    said: list[tuple[int, datetime, str]] = field(default_factory=list)


def hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def address(index: int) -> str:
    return phone(index)


def run(rig: Rig, walk: Walk) -> Outcome:
    """Enrol the families at the start, then tick; family members write at their instants."""
    ids = [
        rig.enroll(address(i), walk.start, f.zone, f.lesson, f.checkin, f.quiet)
        for i, f in enumerate(walk.families)
    ]
    ticks = walk.ticks()
    says = sorted(((walk.start + at, i, text) for i, at, text in walk.says), key=lambda s: s[0])
    outcome = Outcome(ids, ticks)
    for tick in ticks:
        while says and says[0][0] <= tick:
            at, i, text = says.pop(0)
            rig.say(address(i), text, at)
            outcome.said.append((i, at, text))
        rig.tick(tick)
    return outcome


def paused_spans(outcome: Outcome, index: int) -> list[tuple[datetime, datetime]]:
    """When family `index` was paused, from what they wrote (PAUSE n days, PAUSE, RESUME)."""
    spans: list[tuple[datetime, datetime]] = []
    for i, at, text in outcome.said:
        words = text.split()
        if i != index or not words:
            continue
        if words[0] == "PAUSE":
            until = (
                at + timedelta(days=int(words[1]))
                if len(words) > 1
                else datetime.max.replace(tzinfo=at.tzinfo)
            )
            spans.append((at, until))
        elif words[0] == "RESUME":
            spans = [(a, min(b, at)) for a, b in spans]
    return spans


def expected_days(
    ticks: list[datetime],
    family: Family,
    wall: str,
    grace: timedelta | None,
    paused: Callable[[datetime], bool],
) -> set[date]:
    decided: dict[date, bool] = {}
    for tick in ticks:
        day = tick.astimezone(family.tz).date()
        if day in decided:
            continue
        due = due_instant(day, hhmm(wall), family.tz, family.hours)
        if due is None or tick < due or in_quiet_hours(tick, family.tz, family.hours):
            continue
        if grace is not None and tick - due > grace:
            continue
        decided[day] = not paused(tick)
    return {day for day, went in decided.items() if went}


def check(rig: Rig, walk: Walk, outcome: Outcome) -> None:
    """Every rule of issue 5 for every family in the walk; the message names family and instant."""
    loaded = rig.app.ctx.program.current.program.flows.order
    lessons = set(loaded.lessons) | set(loaded.maintenance)
    instants = sorted([*outcome.ticks, *(at for _, at, _ in outcome.said)])
    for index, (family, contact_id) in enumerate(zip(walk.families, outcome.ids, strict=True)):
        tz, quiet = family.tz, family.hours
        spans = paused_spans(outcome, index)

        def paused(at: datetime, spans: list[tuple[datetime, datetime]] = spans) -> bool:
            return any(a <= at < b for a, b in spans)

        rows = rig.outbox(contact_id)
        sent = [r for r in rows if r.status == "sent"]
        who = f"family {index} ({family}, walk from {walk.start.isoformat()})"
        for row in sent:
            assert row.sent_at is not None
            local = row.sent_at.astimezone(tz)
            # (a) nothing the program starts inside quiet hours: only crisis replies, and answers
            # to what the family wrote within the reply window (issue 20)
            answer = row.in_reply_to is not None and row.sent_at - row.created_at <= REPLY_WINDOW
            assert row.kind == "crisis" or answer or not in_quiet_hours(row.sent_at, tz, quiet), (
                f"{who}: {row.message_id} sent at {local} inside quiet hours"
            )
        lesson_days = Counter(
            r.sent_at.astimezone(tz).date() for r in sent if r.message_id in lessons
        )  # type: ignore[union-attr]
        checkin_days = Counter(
            r.sent_at.astimezone(tz).date() for r in sent if r.message_id == CHECKIN
        )  # type: ignore[union-attr]
        nudge_days = Counter(
            r.sent_at.astimezone(tz).date() for r in sent if r.message_id.startswith("selfcare.")
        )  # type: ignore[union-attr]
        # (b) at most one lesson, one check-in and one nudge per local day
        for name, days in (
            ("lesson", lesson_days),
            ("check-in", checkin_days),
            ("nudge", nudge_days),
        ):
            doubled = {d: n for d, n in days.items() if n > 1}
            assert not doubled, f"{who}: more than one {name} on {doubled}"
        # (c, d, e) exactly the days that had a chance: none skipped, none doubled, none while
        # paused
        want_lessons = expected_days(outcome.ticks, family, family.lesson, None, paused)
        want_checkins = expected_days(outcome.ticks, family, family.checkin, CHECKIN_GRACE, paused)
        assert set(lesson_days) == want_lessons, (
            f"{who}: lessons went on {sorted(lesson_days)}, expected {sorted(want_lessons)}"
        )
        assert set(checkin_days) == want_checkins, (
            f"{who}: check-ins went on {sorted(checkin_days)}, expected {sorted(want_checkins)}"
        )
        for row in sent:
            if row.message_id == CHECKIN and row.sent_at is not None:
                due = due_instant(
                    row.sent_at.astimezone(tz).date(), hhmm(family.checkin), tz, quiet
                )
                assert due is not None and timedelta(0) <= row.sent_at - due <= CHECKIN_GRACE, (
                    f"{who}: check-in asked at {row.sent_at.astimezone(tz)}, due {due}"
                )
        # answers to what the family wrote go at once, at any hour; what the program starts
        # otherwise (the welcome, a follow-up) at the first instant outside quiet hours
        for row in rows:
            if (
                row.message_id in lessons
                or row.message_id == CHECKIN
                or row.message_id.startswith("selfcare.")
            ):
                continue
            first = next(
                (t for t in instants if t >= row.created_at and not in_quiet_hours(t, tz, quiet)),
                None,
            )
            if row.kind == "crisis" or (row.in_reply_to is not None and row.status == "sent"):
                assert row.sent_at == row.created_at, (
                    f"{who}: {row.kind} answer {row.message_id} was held"
                )
            elif row.status != "cancelled":
                assert row.sent_at == first, (
                    f"{who}: reply {row.message_id} written {row.created_at.astimezone(tz)} sent "
                    f"{row.sent_at}, expected {first}"
                )
