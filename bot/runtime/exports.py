"""Records for the organisation: contacts, check-ins, messages and alerts as rows for a CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.runtime.context import Context
from storage.queries import reads

# The columns of each export, in order: a CSV of nothing still has its header.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "id",
        "channel",
        "address",
        "status",
        "name",
        "relationship",
        "timezone",
        "lesson_time",
        "checkin_time",
        "locale",
        "created_at",
    ),
    "checkins": ("channel", "address", "value", "local_date", "at"),
    # id: the row's number among messages of its direction; in_reply_to: the inbound message
    # (its id) an outgoing one answers, empty for what the program started (quiet hours hold
    # only those: bot/runtime/outbox/hours.py)
    "messages": (
        "direction",
        "id",
        "channel",
        "address",
        "message_id",
        "text",
        "status",
        "at",
        "in_reply_to",
    ),
    "alerts": ("channel", "address", "category", "matched", "text", "at", "staff_notified"),
}
EXPORTS = tuple(EXPORT_COLUMNS)


def export_rows(ctx: Context, what: str) -> Iterator[dict[str, Any]]:
    with ctx.db() as db:
        if what == "contacts":
            for c in reads.contacts(db):
                yield {
                    "id": c.id,
                    "channel": c.channel,
                    "address": c.address,
                    "status": c.status,
                    "name": c.name,
                    "relationship": c.relationship,
                    "timezone": c.timezone,
                    "lesson_time": c.lesson_time,
                    "checkin_time": c.checkin_time,
                    "locale": c.locale,
                    "created_at": iso(c.created_at),
                }
        elif what == "checkins":
            for ck, c in reads.checkins(db):
                yield {
                    "channel": c.channel,
                    "address": c.address,
                    "value": ck.value,
                    "local_date": ck.local_date.isoformat() if ck.local_date else None,
                    "at": iso(ck.at),
                }
        elif what == "messages":
            yield from _messages(db)
        elif what == "alerts":
            for a, c in reads.alerts(db):
                yield {
                    "channel": c.channel,
                    "address": c.address,
                    "category": a.category,
                    "matched": a.matched,
                    "text": a.text,
                    "at": iso(a.at),
                    "staff_notified": a.notified,
                }
        else:
            raise ValueError(f"nothing called '{what}' to export (known: {', '.join(EXPORTS)})")


def _messages(db: Session) -> Iterator[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, address in reads.inbound_with_address(db):
        rows.append(
            {
                "direction": "in",
                "id": i.id,
                "channel": i.channel,
                "address": address,
                "message_id": None,
                "text": i.text,
                "status": "received",
                "at": iso(i.received_at),
                "in_reply_to": None,
            }
        )
    for o in reads.outbox(db):
        rows.append(
            {
                "direction": "out",
                "id": o.id,
                "channel": o.channel,
                "address": o.address,
                "message_id": o.message_id,
                "text": o.text,
                "status": o.status,
                "at": iso(o.sent_at or o.created_at),
                "in_reply_to": o.in_reply_to,
            }
        )
    yield from sorted(rows, key=lambda r: r["at"] or "")


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
