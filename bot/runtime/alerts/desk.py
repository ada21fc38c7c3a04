"""The alerts desk: what staff do about alerts, from the console, the CLI or a phone.

Acknowledging in the console, with `craftbot alerts ack` or by replying ACK to a notice is the
same status change (storage/queries/alerts.py), so the three can never disagree. Each method is
one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from bot.runtime.alerts.records import AlertRecord, NoteRecord, NoticeRecord
from bot.runtime.context import Context
from bot.runtime.staff_words import Reached, queue_staff_words
from storage.db import DB
from storage.queries import alerts as alert_sql

Outcome = Literal["done", "already", "missing"]
STAFF_MESSAGE_ID = "staff.message"  # the outbox's catalog id for words a coach wrote
MAX_NOTE = 2000


class AlertDesk:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- reading -------------------------------------------------------------------------------
    def alerts(self, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts of one status (newest first), or every alert not closed and then the newest
        closed ones; with their notes and notices."""
        with self.ctx.db() as db:
            found = [AlertRecord.from_row(r) for r in alert_sql.listing(db, status, limit)]
            return _complete(db, found)

    def alert(self, alert_id: int) -> AlertRecord | None:
        with self.ctx.db() as db:
            row = alert_sql.one(db, alert_id)
            return _complete(db, [AlertRecord.from_row(row)])[0] if row else None

    # --- changing ------------------------------------------------------------------------------
    def acknowledge(self, alert_id: int, by: str, via: str, note: str = "") -> Outcome:
        """Open -> acknowledged by `by` (a name or address) through `via` (console, cli, sms...);
        it stops escalating. `note`, if given, is kept with it ("calling her now")."""
        with self.ctx.transaction() as db:
            return acknowledge_in(db, alert_id, by, via, note, self.ctx.clock())

    def close(self, alert_id: int, by: str, note: str) -> Outcome:
        """Closed with a note of what was done; an open alert may be closed at once."""
        now = self.ctx.clock()
        with self.ctx.transaction() as db:
            if alert_sql.one(db, alert_id) is None:
                return "missing"
            done = alert_sql.close(db, alert_id, by, note.strip()[:MAX_NOTE], now)
            return "done" if done else "already"

    def add_note(self, alert_id: int, by: str, text: str) -> Outcome:
        text = text.strip()[:MAX_NOTE]
        with self.ctx.transaction() as db:
            if not text or alert_sql.one(db, alert_id) is None:
                return "missing"
            alert_sql.add_note(db, alert_id, by, text, self.ctx.clock())
            return "done"

    def reach_family(self, contact_id: int, text: str) -> Reached:
        """Queue a staff member's words on the family's channel; the dispatcher sends them."""
        with self.ctx.transaction() as db:
            return queue_staff_words(
                self.ctx,
                db,
                contact_id,
                text,
                STAFF_MESSAGE_ID,
                "email.subject_team",
                self.ctx.clock(),
            )


def acknowledge_in(db: DB, alert_id: int, by: str, via: str, note: str, now: datetime) -> Outcome:
    """`AlertDesk.acknowledge` inside the caller's transaction (a staff reply by phone)."""
    if alert_sql.one(db, alert_id, lock=True) is None:
        return "missing"
    if not alert_sql.acknowledge(db, alert_id, by[:320], via, now):
        return "already"
    if note.strip():
        alert_sql.add_note(db, alert_id, by[:320], note.strip()[:MAX_NOTE], now)
    return "done"


def _complete(db: DB, found: list[AlertRecord]) -> list[AlertRecord]:
    """The alerts with their notes and notices."""
    ids = [a.id for a in found]
    notes: dict[int, list[NoteRecord]] = {}
    for alert_id, at, by, text in alert_sql.notes_of(db, ids):
        notes.setdefault(alert_id, []).append(NoteRecord(at, by, text))
    notices: dict[int, list[NoticeRecord]] = {}
    for alert_id, stage, channel, address, at, status in alert_sql.notices_of(db, ids):
        notices.setdefault(alert_id, []).append(NoticeRecord(stage, channel, address, at, status))
    return [
        replace(a, notes=tuple(notes.get(a.id, ())), notices=tuple(notices.get(a.id, ())))
        for a in found
    ]
