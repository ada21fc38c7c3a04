"""Enrolling thousands of families fast: one through `enroll()`, the rest as copies of its rows.

The families have been with us a while: the welcome enroll() queues is gone already (deleted),
so what these tests count is the program's own messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from bot.runtime.admin import WELCOME, Enrollment, enroll
from bot.runtime.context import Context
from storage import models as m

FIRST_CHAT = 700_000  # Telegram chat ids: no phone numbers needed for thousands of families
CHUNK = 1000


def chat(index: int) -> str:
    return str(FIRST_CHAT + index)


def enroll_many(
    ctx: Context,
    count: int,
    at: datetime,
    timezone: str,
    lesson_time: str,
    checkin_time: str = "19:00",
) -> list[int]:
    """`count` Telegram families with the same schedule; rows identical to what enroll() makes but
    the address."""
    first = enroll(
        ctx,
        Enrollment(
            "telegram",
            chat(0),
            timezone=timezone,
            lesson_time=lesson_time,
            checkin_time=checkin_time,
        ),
        at,
    )
    with ctx.db.begin() as db:
        db.execute(
            delete(m.OutboundMessage).where(
                m.OutboundMessage.contact_id == first, m.OutboundMessage.message_id == WELCOME
            )
        )
        contact = _row(db, m.Contact, m.Contact.id == first)
        consent = _row(db, m.Consent, m.Consent.contact_id == first)
        timers = [
            dict(r._mapping)
            for r in db.execute(select(m.Timer.__table__).where(m.Timer.contact_id == first))
        ]
        ids = [first]
        for lo in range(1, count, CHUNK):
            rows = [{**contact, "address": chat(i)} for i in range(lo, min(count, lo + CHUNK))]
            new = list(db.scalars(insert(m.Contact).returning(m.Contact.id), rows))
            db.execute(insert(m.Consent), [{**consent, "contact_id": i} for i in new])
            db.execute(insert(m.Timer), [{**t, "contact_id": i} for i in new for t in timers])
            ids += new
    return ids


def _row(db: Any, model: Any, where: Any) -> dict[str, Any]:
    row = db.execute(select(model.__table__).where(where)).one()
    return {k: v for k, v in row._mapping.items() if k != "id"}
