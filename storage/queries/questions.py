"""Questions families ask a person on the team (ASK): added by a turn, answered in the console."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, exists, func, insert, select, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.db import DB

QUESTIONS: Table = m.Question.__table__  # type: ignore[assignment]
_q, _c = m.Question, m.Contact


def anyone_answers(db: DB) -> bool:
    """Is there a staff member who can sign in to the console and read questions?"""
    return bool(db.scalar(select(exists().where(m.Staff.password_hash.is_not(None)))))


def add_questions(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        db.execute(insert(QUESTIONS), rows)


def inbox(db: Session, limit: int) -> tuple[list[tuple[m.Question, m.Contact]], int]:
    """Open questions, oldest first (all of them, up to `limit`), then the latest answered or
    closed ones to fill the limit; and how many are open in all."""
    joined = select(_q, _c).join(_c, _c.id == _q.contact_id)
    waiting = db.execute(
        joined.where(_q.status == "open").order_by(_q.asked_at, _q.id).limit(limit)
    )
    found = [(q, c) for q, c in waiting]
    count = len(found)
    if count == limit:
        count = int(db.scalar(select(func.count(_q.id)).where(_q.status == "open")) or 0)
    done = db.execute(
        joined.where(_q.status != "open")
        .order_by(_q.answered_at.desc(), _q.id.desc())
        .limit(max(limit - len(found), 0))
    )
    return found + [(q, c) for q, c in done], count


def question(db: Session, question_id: int) -> tuple[m.Question, m.Contact] | None:
    row = db.execute(
        select(_q, _c).join(_c, _c.id == _q.contact_id).where(_q.id == question_id)
    ).first()
    return (row[0], row[1]) if row else None


def of_family(db: Session, contact_id: int) -> Sequence[m.Question]:
    return db.scalars(select(_q).where(_q.contact_id == contact_id).order_by(_q.id)).all()


def settle(db: DB, question_id: int, status: str, at: datetime, by: str, words: str) -> bool:
    """Mark an open question answered (or closed): False when someone settled it first."""
    done = db.execute(
        update(_q)
        .where(_q.id == question_id, _q.status == "open")
        .values(status=status, answered_at=at, answered_by=by, answer=words)
    )
    return bool(cast(CursorResult[Any], done).rowcount)


def link_answer(db: DB, question_id: int, outbox_id: int) -> None:
    db.execute(update(_q).where(_q.id == question_id).values(outbox_id=outbox_id))


def asked_since(db: DB, since: datetime) -> Sequence[tuple[datetime, datetime | None, str]]:
    """Every question asked since then: (asked, answered or closed, status)."""
    return [
        (asked, answered, status)
        for asked, answered, status in db.execute(
            select(_q.asked_at, _q.answered_at, _q.status).where(_q.asked_at >= since)
        )
    ]
