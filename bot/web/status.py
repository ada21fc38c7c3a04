"""Provider delivery reports: move a message's status forward only, once per report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DB

from storage import models as m
from storage.upsert import insert_ignore

# Later means further along; a report never moves a message backwards (reports arrive out of order).
RANK = {
    "queued": 0,
    "sending": 1,
    "accepted": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "undelivered": 5,
    "failed": 5,
    "invalid": 5,
    "opted_out": 5,
    "bounced": 5,
}
TWILIO = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
}


def first_report(db: DB, provider: str, key: str, now: datetime) -> bool:
    return bool(
        insert_ignore(
            db,
            m.ProviderEvent.__table__,  # type: ignore[arg-type]
            {"provider": provider, "key": key[:255], "at": now},
        )
    )


def move_forward(db: DB, provider_id: str, status: str, detail: str = "") -> bool:
    row = db.execute(
        select(m.OutboundMessage).where(m.OutboundMessage.provider_id == provider_id)
    ).scalar()
    if row is None or RANK.get(status, -1) <= RANK.get(row.status, -1):
        return False
    row.status = status
    if detail:
        row.last_error = detail[:500]
    return True
