"""Aggregates for the console's stats page: counts per week, never a family's name or address.

Weeks run Monday to Sunday (UTC for instants, the family's own day for check-ins) and are
numbered from Monday 3 January 2000, in SQL on both databases, so the grouping happens there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, case, cast, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage import models as m

EPOCH = date(2000, 1, 3)  # a Monday
_EPOCH_JULIAN = 2451546.5  # SQLite's julianday('2000-01-03')
_EPOCH_UNIX = 946857600  # 2000-01-03T00:00:00Z
ENROLMENT = ("consent", "admin_enroll")


def week_number(day: date) -> int:
    return (day - EPOCH).days // 7


def week_start(number: int) -> date:
    return EPOCH + timedelta(weeks=number)


def _week(db: Session, column: Any) -> ColumnElement[int]:
    if db.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(column) - _EPOCH_JULIAN) / 7, Integer)
    seconds = func.extract("epoch", cast(column, DateTime)) - _EPOCH_UNIX
    return cast(func.floor(seconds / 604800), Integer)


def _counts(db: Session, query: Any) -> dict[int, int]:
    return {int(week): int(n) for week, n in db.execute(query)}


def enrolled(db: Session, since: datetime) -> dict[int, int]:
    """Families who joined (said yes, or an admin enrolled them), by week."""
    week = _week(db, m.Consent.at)
    return _counts(
        db,
        select(week, func.count(func.distinct(m.Consent.contact_id)))
        .where(m.Consent.action.in_(ENROLMENT), m.Consent.at >= since)
        .group_by(week),
    )


def active(db: Session, since: datetime) -> dict[int, int]:
    """Families who wrote at least once, by week."""
    week = _week(db, m.InboundMessage.received_at)
    return _counts(
        db,
        select(week, func.count(func.distinct(m.InboundMessage.contact_id)))
        .where(m.InboundMessage.received_at >= since, m.InboundMessage.contact_id.is_not(None))
        .group_by(week),
    )


def checkins_asked_answered(db: Session, since: date) -> dict[int, tuple[int, int]]:
    """Evening check-ins sent, and those answered on the same local day, by week."""
    d, c = m.Delivery, m.Checkin
    week = _week(db, d.local_date)
    answered = exists().where(c.contact_id == d.contact_id, c.local_date == d.local_date)
    rows = db.execute(
        select(week, func.count(), func.sum(case((answered, 1), else_=0)))
        .where(d.kind == "checkin", d.local_date >= since)
        .group_by(week)
    )
    return {int(w): (int(asked), int(yes or 0)) for w, asked, yes in rows}


def checkin_values(db: Session, since: date) -> dict[int, dict[str, int]]:
    """use / non_use / unsure answers by the week of the family's day."""
    week = _week(db, m.Checkin.local_date)
    out: dict[int, dict[str, int]] = {}
    for w, value, n in db.execute(
        select(week, m.Checkin.value, func.count())
        .where(m.Checkin.local_date >= since)
        .group_by(week, m.Checkin.value)
    ):
        out.setdefault(int(w), {})[value] = int(n)
    return out


def opt_outs(db: Session, since: datetime) -> dict[int, dict[str, int]]:
    """Opt-outs by week and the channel they came on."""
    week = _week(db, m.Consent.at)
    out: dict[int, dict[str, int]] = {}
    for w, channel, n in db.execute(
        select(week, m.Consent.channel, func.count())
        .where(m.Consent.action == "opt_out", m.Consent.at >= since)
        .group_by(week, m.Consent.channel)
    ):
        out.setdefault(int(w), {})[channel] = int(n)
    return out


def alerts(db: Session, since: datetime) -> Sequence[tuple[int, datetime]]:
    """Every alert since then: (id, when)."""
    return [
        (int(i), at)
        for i, at in db.execute(select(m.Alert.id, m.Alert.at).where(m.Alert.at >= since))
    ]


def first_staff_touch(db: Session, alert_ids: Sequence[int]) -> dict[int, datetime]:
    """When staff first took each alert: acknowledged (in the console, by phone or with the CLI),
    or closed without that step."""
    if not alert_ids:
        return {}
    a = m.Alert
    rows = db.execute(
        select(a.id, func.coalesce(a.acknowledged_at, a.closed_at)).where(a.id.in_(list(alert_ids)))
    )
    return {int(alert_id): at for alert_id, at in rows if at is not None}


def starts_and_stops(
    db: Session, started_from: datetime, started_until: datetime
) -> list[tuple[datetime, datetime | None]]:
    """For families who joined in the span: (joined, first opt-out after joining or None)."""
    k = m.Consent
    starts = (
        select(k.contact_id, func.min(k.at).label("start"))
        .where(k.action.in_(ENROLMENT))
        .group_by(k.contact_id)
        .subquery()
    )
    stops = (
        select(k.contact_id, func.min(k.at).label("stop"))
        .where(k.action == "opt_out")
        .group_by(k.contact_id)
        .subquery()
    )
    rows = db.execute(
        select(starts.c.start, stops.c.stop)
        .outerjoin(stops, stops.c.contact_id == starts.c.contact_id)
        .where(starts.c.start >= started_from, starts.c.start < started_until)
    )
    return [(start, stop) for start, stop in rows]


def lesson_ratings(db: Session, since: date) -> list[tuple[str, float, int]]:
    """Each rated lesson's average answer to "did today's lesson help? 1-5" and how many
    answered, from local day `since`."""
    a = m.ProgramAnswer
    rows = db.execute(
        select(a.lesson, func.avg(cast(a.value, Integer)), func.count(a.id))
        .where(a.question == "lesson_rating", a.lesson.is_not(None), a.local_date >= since)
        .group_by(a.lesson)
    )
    return [(str(lesson), float(avg), int(n)) for lesson, avg, n in rows]


def wellbeing_by_week(db: Session, since: date) -> dict[int, float]:
    """The average of families' own 1-5 wellbeing answers, by the week of their own day."""
    a = m.ProgramAnswer
    week = _week(db, a.local_date)
    rows = db.execute(
        select(week, func.avg(cast(a.value, Integer)))
        .where(a.question == "wellbeing", a.local_date >= since)
        .group_by(week)
    )
    return {int(w): round(float(avg), 2) for w, avg in rows}
