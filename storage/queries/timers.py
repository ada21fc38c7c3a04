"""Timers (what is due later for a family) and deliveries (which daily message a local day had)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select

from storage import models as m
from storage.db import DB
from storage.queries.dialect import (
    as_arrays,
    dialect_of,
    insert_arrays,
    insert_ignoring,
    upserting,
)
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


def due_timers(db: DB, now: datetime, batch: int) -> Sequence[Sequence[Any]]:
    """Up to `batch` timers due at `now`, oldest first, with their families (columns: DUE)."""
    return db.execute(_DUE, {"now": now, "batch": batch}).all()


def set_timers(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Each family's one timer of each kind, inserted or moved (rows: contact_id, kind, due_at,
    local_date, seq; at most one row a (contact_id, kind))."""
    if not rows:
        return
    dialect = dialect_of(db)
    if dialect == "postgresql":
        db.execute(_setting_timers(), as_arrays(rows, _TIMER_COLUMNS))
    else:
        db.execute(upserting(dialect, TIMERS, ("contact_id", "kind"), _TIMER_COLUMNS[2:]), rows)


def drop_timers(db: DB, keys: Iterable[tuple[int, str]]) -> None:
    """Delete these (contact id, kind) timers."""
    rows = [{"b_contact": contact_id, "b_kind": kind} for contact_id, kind in keys]
    if rows:
        db.execute(_DROP, rows)


def claim_deliveries(db: DB, claims: Iterable[Claim], at: datetime) -> set[Claim]:
    """Insert these deliveries; the ones that went in (not stored already) are this caller's."""
    claims = list(claims)
    if not claims:
        return set()
    dialect = dialect_of(db)
    if dialect == "postgresql":
        contact_ids, kinds, days = zip(*claims, strict=True)
        arrays = {
            "u_contact_id": list(contact_ids),
            "u_kind": list(kinds),
            "u_local_date": list(days),
            "u_at": [at] * len(claims),
        }
        return {(c, k, d) for c, k, d in db.execute(_claiming(), arrays)}
    rows = [{"contact_id": c, "kind": k, "local_date": d, "at": at} for c, k, d in claims]
    stmt = insert_ignoring(dialect, DELIVERIES, ("contact_id", "kind", "local_date"))
    return {(c, k, d) for c, k, d in db.execute(stmt, rows)}


_TIMER_COLUMNS = ("contact_id", "kind", "due_at", "local_date", "seq")
_DELIVERY_COLUMNS = ("contact_id", "kind", "local_date", "at")


# PostgreSQL: a tick's batch in one statement of one array a column (dialect.insert_arrays).
@cache
def _setting_timers() -> Any:
    stmt = insert_arrays(TIMERS, _TIMER_COLUMNS)
    return stmt.on_conflict_do_update(
        index_elements=["contact_id", "kind"],
        set_={k: stmt.excluded[k] for k in _TIMER_COLUMNS[2:]},
    )


@cache
def _claiming() -> Any:
    return (
        insert_arrays(DELIVERIES, _DELIVERY_COLUMNS)
        .on_conflict_do_nothing()
        .returning(_d.contact_id, _d.kind, _d.local_date)
    )


def record_deliveries(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert these deliveries (contact_id, kind, local_date, at) unless stored already."""
    if rows:
        db.execute(insert_ignoring(dialect_of(db), DELIVERIES), rows)


def last_deliveries(db: DB, contact_ids: Iterable[int]) -> dict[tuple[int, str], date]:
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
