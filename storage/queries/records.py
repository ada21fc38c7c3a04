"""What a turn adds beside timers: outbox rows, alerts, check-ins and consents."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update

from storage import models as m
from storage.db import DB
from storage.queries.dialect import dialect_of, upserting

OUTBOX: Table = m.OutboundMessage.__table__  # type: ignore[assignment]
ALERTS: Table = m.Alert.__table__  # type: ignore[assignment]
CHECKINS: Table = m.Checkin.__table__  # type: ignore[assignment]
CONSENTS: Table = m.Consent.__table__  # type: ignore[assignment]
ANSWERS: Table = m.ProgramAnswer.__table__  # type: ignore[assignment]
_o = OUTBOX.c
# Claimed rows too: the dispatcher checks a row is still `sending` just before it sends it.
_CANCEL_EVERYDAY = (
    update(OUTBOX)
    .where(
        _o.contact_id.in_(bindparam("contacts", expanding=True)),
        _o.status.in_(("queued", "sending")),
        _o.kind == "normal",
    )
    .values(status="cancelled", reason=bindparam("reason"))
)

# A pause holds back the program's own messages (lessons, check-ins, nudges), as the engine holds
# back its timers: not an answer to what the family wrote, and never crisis care (a follow-up
# after a crisis goes, paused or not).
CRISIS_CARE_PREFIX = "crisis."
_CANCEL_PROGRAM = (
    update(OUTBOX)
    .where(
        _o.contact_id.in_(bindparam("contacts", expanding=True)),
        _o.status.in_(("queued", "sending")),
        _o.kind == "normal",
        _o.in_reply_to.is_(None),
        ~_o.message_id.startswith(CRISIS_CARE_PREFIX),
    )
    .values(status="cancelled", reason="paused")
)


_OPTIONAL = {"in_reply_to": None, "expires_at": None, "reason": None}


def add_outbox(db: DB, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """New outbox rows; their ids, in the order of `rows`. A row may leave out what it does not
    have: `in_reply_to` (it answers nobody's message), `expires_at` (never), `reason`."""
    return _add(db, OUTBOX, [{**_OPTIONAL, **row} for row in rows])


def add_alerts(db: DB, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """New alerts; their ids, in the order of `rows`."""
    return _add(db, ALERTS, rows)


def add_checkins(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record check-ins: one a family's local day, the latest answer replacing an earlier one
    (also one written by an earlier transaction)."""
    latest = {(r["contact_id"], r["local_date"]): r for r in rows}  # the last of a day wins
    if latest:
        stmt = upserting(dialect_of(db), CHECKINS, ("contact_id", "local_date"), ("value", "at"))
        db.execute(stmt, list(latest.values()))


def add_answers(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Answers to the program's own questions (safety, stage, wellbeing, lesson ratings)."""
    if rows:
        db.execute(insert(ANSWERS), rows)


def add_consents(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        db.execute(insert(CONSENTS), rows)


def cancel_everyday(db: DB, contact_ids: Mapping[int, str]) -> None:
    """Cancel the queued and claimed everyday messages of these families, each with its reason
    (crisis replies and compliance confirmations still go)."""
    by_reason: dict[str, list[int]] = {}
    for contact_id, reason in sorted(contact_ids.items()):
        by_reason.setdefault(reason, []).append(contact_id)
    for reason, wanted in by_reason.items():
        db.execute(_CANCEL_EVERYDAY, {"contacts": wanted, "reason": reason})


def cancel_program(db: DB, contact_ids: Collection[int]) -> None:
    """Cancel the queued and claimed program messages of these families, who paused."""
    if contact_ids:
        db.execute(_CANCEL_PROGRAM, {"contacts": sorted(contact_ids)})


def _add(db: DB, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    if not rows:
        return []
    if dialect_of(db) == "postgresql":
        # The ids first, ascending, from the table's sequence, then the rows with them in one
        # executemany, which psycopg sends as one prepared statement, pipelined. A multi-row
        # INSERT ... RETURNING is a new statement of thousands of parameters every batch, which
        # psycopg and the server both parse afresh: three times the cost (500 outbox rows:
        # 58 -> 22 us of client CPU a row, 210 -> 71 us of wall time).
        ids = sorted(db.execute(_next_ids(table), {"n": len(rows)}).scalars())
        rows = [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        db.execute(_inserting(table), rows)
        return ids
    # SQLite: one multi-row INSERT a batch. SQLite gives its rows rowids in the order they go
    # in, but may list them in any order, and SQLAlchemy keeps the order there only by sending
    # one INSERT a row (18 us a row instead of 12): so ask unordered and sort.
    return sorted(db.execute(_adding(table), rows).scalars())


@cache
def _inserting(table: Table) -> Any:
    return insert(table)


@cache
def _adding(table: Table) -> Any:
    """SQLite: INSERT ... RETURNING id, ids in any order (built once, not every batch)."""
    return insert(table).returning(table.c.id, sort_by_parameter_order=False)


@cache
def _next_ids(table: Table) -> Any:
    """`n` new ids from the sequence of `table`'s id (PostgreSQL)."""
    sequence = func.pg_get_serial_sequence(table.name, "id")
    return select(func.nextval(sequence)).select_from(func.generate_series(1, bindparam("n")))
