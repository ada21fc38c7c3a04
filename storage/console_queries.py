"""What the console asks about families and alerts, named by the question (no SQL in the pages).

Kept apart so it can later join storage/queries.py, where the runtime's own queries go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session as DB
from sqlalchemy.sql.elements import ColumnElement

from storage import models as m


@dataclass(frozen=True)
class Row:
    """One thing that happened in a family's conversation, whatever table it came from."""

    at: datetime
    kind: str  # in | out | checkin | alert | consent
    text: str
    status: str = ""  # an outbound message's delivery status; a consent's action
    message_id: str = ""  # an outbound message's catalog id
    detail: str = ""  # an alert's category; who changed consent
    ref: int = 0  # the row's id in its own table


def search_families(db: DB, text: str, limit: int) -> Sequence[m.Contact]:
    """By part of a name or address, newest first; "#12" is family 12 alone, and a bare number
    is also taken as a family number."""
    text = text.strip()
    query = select(m.Contact).order_by(m.Contact.id.desc()).limit(limit)
    if not text:
        return db.scalars(query).all()
    if text.startswith("#") and text[1:].isdigit():
        return db.scalars(query.where(m.Contact.id == int(text[1:]))).all()
    needle = f"%{text.lower()}%"
    found: list[ColumnElement[bool]] = [
        m.Contact.name.ilike(needle),
        m.Contact.address.ilike(needle),
        m.Contact.loved_one.ilike(needle),
    ]
    if text.isdigit():
        found.append(m.Contact.id == int(text))
    return db.scalars(query.where(or_(*found))).all()


def family(db: DB, contact_id: int) -> m.Contact | None:
    return db.get(m.Contact, contact_id)


def family_for_update(db: DB, contact_id: int) -> m.Contact | None:
    """The family's row, locked for this transaction as the runtime locks it for a turn."""
    return db.execute(
        select(m.Contact).where(m.Contact.id == contact_id).with_for_update()
    ).scalar()


def consents(db: DB, contact_id: int) -> Sequence[m.Consent]:
    return db.scalars(
        select(m.Consent).where(m.Consent.contact_id == contact_id).order_by(m.Consent.id)
    ).all()


def erase_family(db: DB, contact_id: int) -> bool:
    """Delete the family and, by the foreign keys' cascade, everything recorded about them."""
    deleted = db.execute(delete(m.Contact).where(m.Contact.id == contact_id))
    return bool(cast(CursorResult[Any], deleted).rowcount)


def timeline(
    db: DB,
    contact_id: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    earliest: bool = False,
) -> list[Row]:
    """The family's conversation between the bounds, oldest first: the newest `limit` things
    (the earliest `limit` with `earliest`)."""
    i, o, c, a, k = m.InboundMessage, m.OutboundMessage, m.Checkin, m.Alert, m.Consent

    def bounded(query: Any, column: Any) -> Any:
        if since is not None:
            query = query.where(column >= since)
        if until is not None:
            query = query.where(column <= until)
        return query.order_by(column if earliest else column.desc()).limit(limit)

    rows: list[Row] = []
    for r in db.execute(
        bounded(
            select(i.id, i.received_at, i.text).where(i.contact_id == contact_id), i.received_at
        )
    ):
        rows.append(Row(r.received_at, "in", r.text, ref=r.id))
    sent_at = o.created_at
    for r in db.execute(
        bounded(
            select(o.id, o.created_at, o.sent_at, o.text, o.status, o.message_id, o.kind).where(
                o.contact_id == contact_id
            ),
            sent_at,
        )
    ):
        rows.append(
            Row(r.sent_at or r.created_at, "out", r.text, r.status, r.message_id, r.kind, r.id)
        )
    for r in db.execute(
        bounded(select(c.id, c.at, c.value, c.local_date).where(c.contact_id == contact_id), c.at)
    ):
        rows.append(Row(r.at, "checkin", r.value, detail=str(r.local_date or ""), ref=r.id))
    for r in db.execute(
        bounded(select(a.id, a.at, a.text, a.category).where(a.contact_id == contact_id), a.at)
    ):
        rows.append(Row(r.at, "alert", r.text, detail=r.category, ref=r.id))
    for r in db.execute(
        bounded(
            select(k.id, k.at, k.words, k.action, k.by, k.channel).where(
                k.contact_id == contact_id
            ),
            k.at,
        )
    ):
        rows.append(Row(r.at, "consent", r.words, r.action, r.channel, r.by, r.id))
    order = {"in": 0, "alert": 1, "consent": 2, "checkin": 3, "out": 4}
    rows.sort(key=lambda r: (r.at, order[r.kind], r.ref))
    return rows[:limit] if earliest else rows[-limit:]
