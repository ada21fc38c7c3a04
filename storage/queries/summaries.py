"""What a family's summary counts: their evening answers and their own wellbeing answers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select

from storage import models as m
from storage.db import DB

Said = tuple[int, date, str, datetime]  # (contact id, local day, value, when)


def checkins_since(db: DB, contact_ids: Iterable[int], since: date) -> list[Said]:
    """Every check-in of these families from local day `since`, in the order given."""
    c = m.Checkin
    rows = db.execute(
        select(c.contact_id, c.local_date, c.value, c.at)
        .where(c.contact_id.in_(list(contact_ids)), c.local_date >= since)
        .order_by(c.at, c.id)
    )
    return [(int(i), d, str(v), at) for i, d, v, at in rows if d is not None]


def answers_since(db: DB, contact_ids: Iterable[int], question: str, since: date) -> list[Said]:
    """These families' answers to one of the program's questions from local day `since`."""
    a = m.ProgramAnswer
    rows = db.execute(
        select(a.contact_id, a.local_date, a.value, a.at)
        .where(a.contact_id.in_(list(contact_ids)), a.question == question, a.local_date >= since)
        .order_by(a.at, a.id)
    )
    return [(int(i), d, str(v), at) for i, d, v, at in rows]
