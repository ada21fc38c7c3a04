"""Families for the benchmarks: rows identical to what `craftbot enroll` writes, cloned in bulk.

A few hundred families are enrolled through the real `enroll()`; the rest copy one of them
(contact, consent, timers) with a new id and address, so every row is one enroll() would write.
The families have been with us a while: the welcome enroll() queues is gone already (deleted),
so a bench morning measures the program's own messages.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, text

from bot.app import App
from bot.runtime.admin import WELCOME, Enrollment, enroll
from storage import models as m
from tests.fictional import phone

# The bench morning: a Tuesday after the US clock change. Every lesson is due at 13:00 UTC.
LESSON_UTC = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
TICK_AT = LESSON_UTC + timedelta(seconds=30)
ENROL_AT = LESSON_UTC - timedelta(hours=1)
# Zones west of UTC, so 13:00 UTC is a morning lesson time there and the 13:00 self-care nudge is
# still ahead: only lessons fall in the bench minute.
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Bogota",
    "America/Halifax",
    "America/Sao_Paulo",
    "America/St_Johns",
    "America/Puerto_Rico",
    "Atlantic/Azores",
)
RELATIONSHIPS = ("parent", "partner", "sibling", "child", "friend", "other")
NAMES = ("Ana", "Sam", None, "Lee")
LOVED_ONES = (None, "Jo", "Dani")
CHUNK = 5000


def lesson_time_in(zone: str) -> str:
    return LESSON_UTC.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def address(channel: str, i: int) -> str:
    """Telegram chat ids, or fictional phone numbers (tests/fictional.py)."""
    return str(10_000_000 + i) if channel == "telegram" else phone(i)


def templates(
    lesson_due: bool, checkin_due: bool = False
) -> list[tuple[str, str, str | None, str | None, str, str]]:
    """(zone, relationship, name, loved one, lesson time, check-in time): 576 kinds of family."""
    rows = []
    for zone, rel, name, loved in itertools.product(ZONES, RELATIONSHIPS, NAMES, LOVED_ONES):
        rows.append(
            (
                zone,
                rel,
                name,
                loved,
                lesson_time_in(zone) if lesson_due else "15:00",
                lesson_time_in(zone) if checkin_due else "19:00",
            )
        )
    return rows


def enrol_families(
    app: App,
    n: int,
    channel: str = "telegram",
    first: int = 0,
    lesson_due: bool = True,
    checkin_due: bool = False,
    kinds: list[tuple[str, str, str | None, str | None, str, str]] | None = None,
    at: datetime = ENROL_AT,
) -> None:
    """Enrol n families on `channel` (addresses from index `first`), whose lesson (or check-in) is
    due at LESSON_UTC; or of the given kinds (zone, relationship, name, loved one, lesson time,
    check-in time), enrolled `at`."""
    kinds = kinds or templates(lesson_due, checkin_due)
    seeds = min(n, len(kinds))
    seed_ids = []
    for i in range(seeds):
        zone, rel, name, loved, lesson, checkin = kinds[i]
        seed_ids.append(
            enroll(
                app.ctx,
                Enrollment(
                    channel, address(channel, first + i), name, rel, loved, zone, lesson, checkin
                ),
                at,
            )
        )
    with app.ctx.db.begin() as db:
        db.execute(
            delete(m.OutboundMessage).where(
                m.OutboundMessage.contact_id.in_(seed_ids), m.OutboundMessage.message_id == WELCOME
            )
        )
    if n <= seeds:
        return
    with app.ctx.db() as db:
        contacts = {
            c.id: _values(c, m.Contact)
            for c in db.scalars(select(m.Contact).where(m.Contact.id.in_(seed_ids)))
        }
        consents = {
            c.contact_id: _values(c, m.Consent)
            for c in db.scalars(select(m.Consent).where(m.Consent.contact_id.in_(seed_ids)))
        }
        timers: dict[int, list[dict[str, Any]]] = {}
        for t in db.scalars(select(m.Timer).where(m.Timer.contact_id.in_(seed_ids))):
            timers.setdefault(t.contact_id, []).append(_values(t, m.Timer))
        next_id = (db.execute(select(func.max(m.Contact.id))).scalar() or 0) + 1
    with app.ctx.db.begin() as db:
        for part in _chunks(range(seeds, n)):
            rows_c, rows_k, rows_t = [], [], []
            for i in part:
                seed = seed_ids[i % seeds]
                cid = next_id + i - seeds
                rows_c.append({**contacts[seed], "id": cid, "address": address(channel, first + i)})
                rows_k.append({**consents[seed], "contact_id": cid})
                rows_t += [{**t, "contact_id": cid} for t in timers[seed]]
            db.execute(insert(m.Contact), rows_c)
            db.execute(insert(m.Consent), rows_k)
            db.execute(insert(m.Timer), rows_t)
        if db.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence past them
            db.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT max(id) FROM "
                    "contacts))"
                )
            )


def queue_backlog(app: App, contact_ids: list[int], text_: str, not_before: datetime) -> None:
    """One queued outbox row per contact, as enqueue() writes a lesson."""
    with app.ctx.db.begin() as db:
        contacts = {
            c.id: c for c in db.scalars(select(m.Contact).where(m.Contact.id.in_(contact_ids)))
        }
        rows = [
            {
                "contact_id": cid,
                "channel": contacts[cid].channel,
                "address": contacts[cid].address,
                "message_id": "lesson.what_is_craft",
                "kind": "normal",
                "text": text_,
                "subject": None,
                "status": "queued",
                "not_before": not_before,
                "attempts": 0,
                "created_at": not_before,
            }
            for cid in contact_ids
        ]
        for part in _chunks(rows):
            db.execute(insert(m.OutboundMessage), list(part))


def contact_ids(app: App, channel: str) -> list[int]:
    with app.ctx.db() as db:
        return list(
            db.scalars(
                select(m.Contact.id).where(m.Contact.channel == channel).order_by(m.Contact.id)
            )
        )


def outbox_count(app: App) -> tuple[int, int]:
    """(rows, distinct contacts) in the outbox."""
    with app.ctx.db() as db:
        return (
            db.execute(select(func.count()).select_from(m.OutboundMessage)).scalar() or 0,
            db.execute(select(func.count(func.distinct(m.OutboundMessage.contact_id)))).scalar()
            or 0,
        )


def _values(row: Any, model: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key != "id"}


def _chunks(seq: Any) -> Iterator[Any]:
    seq = list(seq)
    for i in range(0, len(seq), CHUNK):
        yield seq[i : i + CHUNK]
