"""What the console asks about families and alerts, named by the question (no SQL in the pages).

Kept apart so it can later join storage/queries.py, where the runtime's own queries go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage import models as m
from storage.types import UTCDateTime


@dataclass(frozen=True)
class Row:
    """One thing that happened in a family's conversation, whatever table it came from."""

    at: datetime
    kind: str  # in | out | checkin | alert | consent | question
    text: str
    status: str = ""  # an outbound message's delivery status; a consent's action; a question's
    message_id: str = ""  # an outbound message's catalog id
    detail: str = ""  # an alert's category; who changed consent; the offer a question answered
    ref: int = 0  # the row's id in its own table
    reply_to: int | None = None  # an outbound message: the inbound one it answers (None: the
    # program started it, and quiet hours hold it)


def without_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


_PHONE_AS_TYPED = re.compile(r"^\+?[\d\s().-]+$")


def search_families(db: Session, text: str, limit: int) -> Sequence[m.Contact]:
    """By part of a name or address, newest first; "#12" is family 12 alone, and a bare number
    is also taken as a family number. A phone number may be written as people do, "(201)
    555-0138", and a name with accents finds it without them. (The loved one's name is encrypted
    at rest, so no search can read it.)"""
    text = text.strip()
    query = select(m.Contact).order_by(m.Contact.id.desc()).limit(limit)
    if not text:
        return db.scalars(query).all()
    if text.startswith("#") and text[1:].isdigit():
        return db.scalars(query.where(m.Contact.id == int(text[1:]))).all()
    # SQLite's LIKE ignores case already (ASCII, as its lower() does): ilike's lower() on every
    # row's columns doubled the scan. PostgreSQL needs ILIKE.
    sqlite = db.get_bind().dialect.name == "sqlite"

    def like(column: Any, part: str) -> ColumnElement[bool]:
        needle = f"%{part.lower()}%"
        return column.like(needle) if sqlite else column.ilike(needle)

    digits = re.sub(r"\D", "", text)
    if not text.isdigit() and _PHONE_AS_TYPED.match(text) and len(digits) >= 3:
        # A number as people write it, "(201) 555-0138": addresses are kept as +12015550138.
        return db.scalars(query.where(like(m.Contact.address, digits))).all()
    found = [like(m.Contact.name, text), like(m.Contact.address, text)]
    plain = without_accents(text)
    if plain != text:  # a name that came by SMS may have lost its accents: "Lucía" as "Lucia"
        found.append(like(m.Contact.name, plain))
    if text.isdigit():
        found.append(m.Contact.id == int(text))
    return db.scalars(query.where(or_(*found))).all()


def family(db: Session, contact_id: int) -> m.Contact | None:
    return db.get(m.Contact, contact_id)


def family_for_update(db: Session, contact_id: int) -> m.Contact | None:
    """The family's row, locked for this transaction as the runtime locks it for a turn."""
    return db.execute(
        select(m.Contact).where(m.Contact.id == contact_id).with_for_update()
    ).scalar()


def consents(db: Session, contact_id: int) -> Sequence[m.Consent]:
    return db.scalars(
        select(m.Consent).where(m.Consent.contact_id == contact_id).order_by(m.Consent.id)
    ).all()


def timeline(
    db: Session,
    contact_id: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    earliest: bool = False,
) -> list[Row]:
    """The family's conversation between the bounds, oldest first: the newest `limit` things
    (the earliest `limit` with `earliest`).

    One statement: each table's newest (or earliest) `limit` rows, as a UNION ALL of the same
    columns, so a page pays one round trip instead of one a table.
    """
    parts = []
    for part in _TIMELINE:
        query = select(*part.columns).where(part.table.c.contact_id == contact_id)
        if since is not None:
            query = query.where(part.at >= since)
        if until is not None:
            query = query.where(part.at <= until)
        query = query.order_by(part.at if earliest else part.at.desc()).limit(limit)
        parts.append(select(query.subquery()))
    rows = [_row(r) for r in db.execute(union_all(*parts))]
    rows.sort(key=lambda r: (r.at, _ORDER[r.kind], r.ref))
    return rows[:limit] if earliest else rows[-limit:]


def _row(r: Any) -> Row:
    """One timeline row as the console shows it (empty strings where a table has no value)."""
    return Row(
        r.shown,
        r.kind,
        r.text,
        r.status or "",
        r.message_id or "",
        r.detail or "",
        r.ref,
        r.reply_to,
    )


def around(
    db: Session, moments: Sequence[tuple[int, datetime]], span: timedelta, before: int, after: int
) -> list[list[Row]]:
    """The conversation around each (family, moment): up to `before` things at or before it
    (itself included) and `after` things after it, within `span` each side; oldest first.

    One statement for every moment (the alerts page shows ten): each table's rows inside any of
    the windows, cut to size here. A window holds at most a day of one family's conversation.
    """
    if not moments:
        return []
    params: dict[str, Any] = {}
    for i, (contact_id, at) in enumerate(moments):
        params |= {f"c{i}": contact_id, f"lo{i}": at - span, f"hi{i}": at + span}
    found: dict[int, list[tuple[datetime, Row]]] = {}
    for r in db.execute(_around(len(moments)), params):
        found.setdefault(r.contact_id, []).append((r.at, _row(r)))
    out = []
    for contact_id, at in moments:
        near = [(when, row) for when, row in found.get(contact_id, []) if abs(when - at) <= span]
        near.sort(key=lambda pair: (pair[1].at, _ORDER[pair[1].kind], pair[1].ref))
        earlier = [row for when, row in near if when <= at]
        later = [row for when, row in near if when > at]
        out.append(earlier[-before:] + later[:after])
    return out


@cache
def _around(count: int) -> Any:
    """`around`'s statement for `count` windows (one to the alerts page's ten), built once:
    building and cache-keying it for each page was most of its 6 ms at 100,000 families."""
    parts = []
    for part in _TIMELINE:
        windows = [
            and_(
                part.table.c.contact_id == bindparam(f"c{i}"),
                part.at.between(bindparam(f"lo{i}"), bindparam(f"hi{i}")),
            )
            for i in range(count)
        ]
        parts.append(
            select(*part.columns, part.table.c.contact_id, part.at.label("at")).where(or_(*windows))
        )
    return union_all(*parts)


@dataclass(frozen=True)
class _Part:
    """One table's rows in the timeline's columns: kind, ref, shown, text, status, message_id,
    detail (a table without one of them gives ''), reply_to (NULL but for outbound rows)."""

    kind: str
    table: Any
    at: Any  # the column bounds and order apply to
    columns: tuple[Any, ...]


def _part(kind: str, model: Any, at: str, text: str, shown: Any = None, **more: Any) -> _Part:
    table = model.__table__
    blank = literal_column("''", String)
    extra = {name: more.get(name, blank) for name in ("status", "message_id", "detail")}
    columns = (
        literal_column(f"'{kind}'", String).label("kind"),
        table.c.id.label("ref"),
        (shown if shown is not None else table.c[at]).label("shown"),
        table.c[text].label("text"),
        *(column.label(name) for name, column in extra.items()),
        more.get("reply_to", sql_cast(null(), Integer)).label("reply_to"),
    )
    return _Part(kind, table, table.c[at], columns)


def _timeline_parts() -> tuple[_Part, ...]:
    o, c, k, qn = (t.__table__ for t in (m.OutboundMessage, m.Checkin, m.Consent, m.Question))
    return (
        _part("in", m.InboundMessage, "received_at", "text"),
        _part(
            "out",
            m.OutboundMessage,
            "created_at",
            "text",
            shown=func.coalesce(o.c.sent_at, o.c.created_at, type_=UTCDateTime),
            status=o.c.status,
            message_id=o.c.message_id,
            detail=o.c.kind,
            reply_to=o.c.in_reply_to,
        ),
        _part("checkin", m.Checkin, "at", "value", detail=sql_cast(c.c.local_date, String)),
        _part("alert", m.Alert, "at", "text", detail=m.Alert.__table__.c.category),
        _part(
            "consent",
            m.Consent,
            "at",
            "words",
            status=k.c.action,
            message_id=k.c.channel,
            detail=k.c.by,
        ),
        _part("question", m.Question, "asked_at", "text", status=qn.c.status, detail=qn.c.prompt),
    )


_TIMELINE = _timeline_parts()
_ORDER = {"in": 0, "alert": 1, "consent": 2, "question": 3, "checkin": 4, "out": 5}
