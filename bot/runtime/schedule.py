"""Timers in the database: each family's next lesson, check-in and nudge, waits and follow-ups.

The daily kinds are computed by bot.scheduling (pure) and fired by `fire_due`; a row in
`deliveries` keyed by (contact, kind, local date) makes a second send on one day impossible.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DB

from bot.runtime.family_clock import parse_hhmm, quiet_of, zone_of
from bot.scheduling.policy import next_slot
from bot.settings import Settings
from storage import models as m
from storage.upsert import insert_ignore, upsert, upsert_statement

DAILY = ("lesson", "checkin", "nudge")
NUDGE_EVERY_DAYS = 3  # self-care nudges come every third day, between lesson and check-in
NUDGE_TIME = "13:00"


def timer_row(
    contact_id: int,
    kind: str,
    due_at: datetime,
    local_date: date | None = None,
    seq: int | None = None,
) -> dict[str, object]:
    """The values of one `timers` row (one place, for single writes and batched ones)."""
    return {
        "contact_id": contact_id,
        "kind": kind,
        "due_at": due_at,
        "local_date": local_date,
        "seq": seq,
    }


def timers_upsert(db: DB) -> Any:
    """The statement `set_timer` runs, for many rows at once (rows made by `timer_row`)."""
    return upsert_statement(
        db,
        m.Timer.__table__,  # type: ignore[arg-type]
        ("contact_id", "kind"),
        ("due_at", "local_date", "seq"),
    )


def schedule_many(db: DB, plans: list[dict[str, object]]) -> None:
    """Upsert many timers in one statement: `set_timer` for a whole batch."""
    db.execute(timers_upsert(db), plans)


def set_timer(
    db: DB,
    contact_id: int,
    kind: str,
    due_at: datetime,
    local_date: date | None = None,
    seq: int | None = None,
) -> None:
    upsert(
        db,
        m.Timer.__table__,  # type: ignore[arg-type]
        timer_row(contact_id, kind, due_at, local_date, seq),
        ("contact_id", "kind"),
    )


def plan_from(kind: str, after: date | None) -> date | None:
    """The day to plan after: nudges skip NUDGE_EVERY_DAYS - 1 days between them."""
    if kind == "nudge" and after is not None:
        return after + timedelta(days=NUDGE_EVERY_DAYS - 1)
    return after


def set_wait(db: DB, contact: m.Contact, seq: int, timeout_s: int | None, now: datetime) -> None:
    if timeout_s is None:
        db.execute(delete(m.Timer).where(m.Timer.contact_id == contact.id, m.Timer.kind == "wait"))
        return
    set_timer(db, contact.id, "wait", now + timedelta(seconds=timeout_s), seq=seq)


def record_delivery(
    db: DB,
    contact: m.Contact,
    kind: str,
    settings: Settings,
    now: datetime,
    local: date | None = None,
) -> bool:
    """Claim (contact, kind, local day) for this family; False if it was already taken."""
    local = local or now.astimezone(zone_of(contact, settings)).date()
    return bool(
        insert_ignore(
            db,
            m.Delivery.__table__,  # type: ignore[arg-type]
            {"contact_id": contact.id, "kind": kind, "local_date": local, "at": now},
        )
    )


def last_delivery(db: DB, contact_id: int, kind: str) -> date | None:
    return db.execute(
        select(func.max(m.Delivery.local_date)).where(
            m.Delivery.contact_id == contact_id, m.Delivery.kind == kind
        )
    ).scalar()


def daily_time(contact: m.Contact, kind: str) -> str | None:
    if kind == "lesson":
        return contact.lesson_time
    if kind == "checkin":
        return contact.checkin_time
    if kind == "nudge":
        return NUDGE_TIME
    raise KeyError(kind)


def reschedule(db: DB, contact: m.Contact, settings: Settings, now: datetime) -> None:
    """Recompute the next lesson, check-in and nudge after any change to times, zone or consent."""
    if contact.status != "active":
        db.execute(delete(m.Timer).where(m.Timer.contact_id == contact.id, m.Timer.kind.in_(DAILY)))
        return
    for kind in DAILY:
        plan_next(db, contact, kind, settings, now, last_delivery(db, contact.id, kind))


def plan_next(
    db: DB, contact: m.Contact, kind: str, settings: Settings, now: datetime, after: date | None
) -> None:
    at = daily_time(contact, kind)
    if not at:
        db.execute(delete(m.Timer).where(m.Timer.contact_id == contact.id, m.Timer.kind == kind))
        return
    slot = next_slot(
        kind,  # type: ignore[arg-type]
        parse_hhmm(at),
        zone_of(contact, settings),
        quiet_of(contact, settings),
        now,
        plan_from(kind, after),
    )
    set_timer(db, contact.id, kind, slot.due_at, slot.local_date)
