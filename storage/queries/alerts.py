"""Alerts after they are raised: their status, notes and notices, and the escalations due.

Status moves one way: open -> acknowledged -> closed (an open alert may be closed at once). Each
change is one conditional UPDATE, so two staff members acknowledging together (one by phone, one
in the console) give one acknowledgement and a clear "already done" to the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update

from storage import models as m
from storage.db import DB
from storage.queries.records import ALERTS

NOTES: Table = m.AlertNote.__table__  # type: ignore[assignment]
NOTICES: Table = m.AlertNotice.__table__  # type: ignore[assignment]
_a, _c = ALERTS.c, m.Contact.__table__.c
# What the alerts room reads of an alert, in this order (bot/runtime/alerts/records.py).
ALERT = (
    _a.id,
    _a.contact_id,
    _c.name,
    _c.channel,
    _c.address,
    _a.category,
    _a.tier,
    _a.priority,
    _a.matched,
    _a.text,
    _a.at,
    _a.notified,
    _a.status,
    _a.acknowledged_by,
    _a.acknowledged_at,
    _a.acknowledged_via,
    _a.closed_by,
    _a.closed_at,
    _a.close_note,
    _a.escalations,
    _a.escalate_at,
)
_JOINED = select(*ALERT).join_from(ALERTS, m.Contact.__table__, _a.contact_id == _c.id)


def add_notices(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        db.execute(insert(NOTICES), rows)


def add_note(db: DB, alert_id: int, by: str, text: str, at: datetime) -> None:
    db.execute(insert(NOTES), {"alert_id": alert_id, "by": by, "text": text, "at": at})


def one(db: DB, alert_id: int, lock: bool = False) -> Sequence[Any] | None:
    """An alert (the columns of ALERT), or None."""
    query = _JOINED.where(_a.id == alert_id)
    return db.execute(query.with_for_update(of=ALERTS) if lock else query).first()


def listing(db: DB, status: str | None, limit: int) -> Sequence[Sequence[Any]]:
    """Alerts (the columns of ALERT): of one status, or the newest of every status."""
    if status:
        query = _JOINED.where(_a.status == status).order_by(_a.id.desc()).limit(limit)
    else:
        # Every alert not closed, however old, then the newest closed ones.
        query = _JOINED.order_by(_a.status == "closed", _a.id.desc()).limit(limit)
    return db.execute(query).all()


def notes_of(db: DB, ids: Iterable[int]) -> Sequence[Sequence[Any]]:
    """(alert id, at, by, text) of these alerts' notes, oldest first."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    query = (
        select(NOTES.c.alert_id, NOTES.c.at, NOTES.c.by, NOTES.c.text)
        .where(NOTES.c.alert_id.in_(wanted))
        .order_by(NOTES.c.id)
    )
    return db.execute(query).all()


def notices_of(db: DB, ids: Iterable[int]) -> Sequence[Sequence[Any]]:
    """(alert id, stage, channel, address, at, outbox status) of these alerts' notices."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    outbox = m.OutboundMessage.__table__
    query = (
        select(
            NOTICES.c.alert_id,
            NOTICES.c.stage,
            NOTICES.c.channel,
            NOTICES.c.address,
            NOTICES.c.at,
            outbox.c.status,
        )
        .outerjoin(outbox, outbox.c.id == NOTICES.c.outbox_id)
        .where(NOTICES.c.alert_id.in_(wanted))
        .order_by(NOTICES.c.id)
    )
    return db.execute(query).all()


def acknowledge(db: DB, alert_id: int, by: str, via: str, at: datetime) -> bool:
    """Open -> acknowledged; False when the alert is not open (or does not exist)."""
    done = db.execute(
        update(ALERTS)
        .where(_a.id == alert_id, _a.status == "open")
        .values(
            status="acknowledged",
            acknowledged_by=by,
            acknowledged_via=via,
            acknowledged_at=at,
            escalate_at=None,
        )
        .returning(_a.id)
    )
    return done.first() is not None


def close(db: DB, alert_id: int, by: str, note: str, at: datetime) -> bool:
    """Open or acknowledged -> closed; False when already closed (or no such alert)."""
    done = db.execute(
        update(ALERTS)
        .where(_a.id == alert_id, _a.status != "closed")
        .values(status="closed", closed_by=by, closed_at=at, close_note=note, escalate_at=None)
        .returning(_a.id)
    )
    return done.first() is not None


def latest_told(db: DB, channel: str, address: str) -> int | None:
    """The newest open alert this staff address was told of, or None."""
    n = NOTICES.c
    query = (
        select(_a.id)
        .join_from(NOTICES, ALERTS, n.alert_id == _a.id)
        .where(n.channel == channel, n.address == address, _a.status == "open")
        .order_by(_a.id.desc())
        .limit(1)
    )
    return db.execute(query).scalar()


def open_ids(db: DB, limit: int = 5) -> list[int]:
    """The oldest open alerts' ids (what a staff member's unclear reply is reminded of)."""
    query = select(_a.id).where(_a.status == "open").order_by(_a.priority, _a.id).limit(limit)
    return list(db.execute(query).scalars())


def latest_open_for(db: DB, contact_id: int, since: datetime) -> int | None:
    """This family's newest alert since `since` that is not closed, or None."""
    query = (
        select(_a.id)
        .where(_a.contact_id == contact_id, _a.status != "closed", _a.at >= since)
        .order_by(_a.id.desc())
        .limit(1)
    )
    return db.execute(query).scalar()


def due_escalations(db: DB, now: datetime, limit: int) -> Sequence[Sequence[Any]]:
    """Open alerts whose next notice is due (the columns of ALERT), locked; rows another worker
    holds are skipped."""
    query = (
        _JOINED.where(_a.status == "open", _a.escalate_at <= now)
        .order_by(_a.escalate_at)
        .limit(limit)
        .with_for_update(of=ALERTS, skip_locked=True)
    )
    return db.execute(query).all()


def escalated(db: DB, alert_id: int, escalations: int, next_at: datetime | None) -> None:
    db.execute(
        update(ALERTS)
        .where(_a.id == alert_id)
        .values(escalations=escalations, escalate_at=next_at, notified=True)
    )


def raise_priority(db: DB, alert_id: int, priority: int) -> None:
    """Make an alert at least this urgent (a smaller number is more urgent)."""
    db.execute(
        update(ALERTS).where(_a.id == alert_id, _a.priority > priority).values(priority=priority)
    )
