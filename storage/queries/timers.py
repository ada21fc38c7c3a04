"""Timers (what is due later for a family) and deliveries (which daily message a local day had)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.queries.dialect import dialect_of, insert_ignoring, upserting
from storage.queries.families import CONTACTS, FAMILY

TIMERS: Table = m.Timer.__table__  # type: ignore[assignment]
DELIVERIES: Table = m.Delivery.__table__  # type: ignore[assignment]
_t, _d = TIMERS.c, DELIVERIES.c
# A due timer and its family: these timer columns, then the family's (FAMILY, in its order).
DUE = (_t.kind, _t.due_at, _t.local_date, _t.seq, *FAMILY)
Claim = tuple[int, str, date]  # (contact id, kind, local date): one row of `deliveries`

_DUE = (
    select(*DUE)
    .join_from(TIMERS, CONTACTS, CONTACTS.c.id == _t.contact_id)
    .where(_t.due_at <= bindparam("now"))
    .order_by(_t.due_at)
    .limit(bindparam("batch"))
    # PostgreSQL locks the timer and its contact, and other workers skip both; SQLite's write
    # lock (BEGIN IMMEDIATE) keeps a second worker out altogether.
    .with_for_update(skip_locked=True)
)
_DROP = delete(TIMERS).where(
    _t.contact_id == bindparam("b_contact"), _t.kind == bindparam("b_kind")
)


def due_timers(db: Session, now: datetime, batch: int) -> Sequence[Sequence[Any]]:
    """Up to `batch` timers due at `now`, oldest first, with their families (columns: DUE)."""
    return db.execute(_DUE, {"now": now, "batch": batch}).all()


def set_timers(db: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Each family's one timer of each kind, inserted or moved (rows: contact_id, kind, due_at,
    local_date, seq)."""
    if rows:
        db.execute(
            upserting(
                dialect_of(db),
                TIMERS,
                ("contact_id", "kind"),
                ("due_at", "local_date", "seq"),
            ),
            rows,
        )


def drop_timers(db: Session, keys: Iterable[tuple[int, str]]) -> None:
    """Delete these (contact id, kind) timers."""
    rows = [{"b_contact": contact_id, "b_kind": kind} for contact_id, kind in keys]
    if rows:
        db.execute(_DROP, rows)


def claim_deliveries(db: Session, claims: Iterable[Claim], at: datetime) -> set[Claim]:
    """Insert these deliveries; the ones that went in (not stored already) are this caller's."""
    rows = [{"contact_id": c, "kind": k, "local_date": d, "at": at} for c, k, d in claims]
    if not rows:
        return set()
    stmt = insert_ignoring(dialect_of(db), DELIVERIES, ("contact_id", "kind", "local_date"))
    return {(c, k, d) for c, k, d in db.execute(stmt, rows)}


def record_deliveries(db: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert these deliveries (contact_id, kind, local_date, at) unless stored already."""
    if rows:
        db.execute(insert_ignoring(dialect_of(db), DELIVERIES), rows)


def last_deliveries(db: Session, contact_ids: Iterable[int]) -> dict[tuple[int, str], date]:
    """The latest local day each kind was delivered to these families, by (contact id, kind)."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return {}
    rows = db.execute(
        select(_d.contact_id, _d.kind, func.max(_d.local_date))
        .where(_d.contact_id.in_(wanted))
        .group_by(_d.contact_id, _d.kind)
    )
    return {(contact_id, kind): day for contact_id, kind, day in rows}
