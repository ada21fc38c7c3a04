"""The runtime's services: an inbound message, a due timer, an admin enrolment. Each is one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DB

from bot.channels.base import InboundMessage
from bot.engine import Message, Timeout, Trigger, step
from bot.engine.inputs import Input
from bot.engine.session import Session
from bot.runtime import schedule
from bot.runtime.context import Context
from bot.runtime.effects import Applied, apply_events
from bot.runtime.family_clock import guess_from_phone, quiet_of, zone_of
from bot.scheduling.policy import Slot, decide
from storage import models as m
from storage.upsert import insert_ignore

log = logging.getLogger(__name__)
TRIGGERS = {"lesson": "lesson_due", "checkin": "checkin_due", "nudge": "nudge_due", "followup": "followup_due"}


@dataclass
class InboundResult:
    duplicate: bool
    contact_id: int | None = None
    outbox_ids: list[int] = field(default_factory=list)
    crisis_ids: list[int] = field(default_factory=list)


@dataclass
class TickReport:
    fired: int = 0
    skipped: int = 0
    timeouts: int = 0
    outbox_ids: list[int] = field(default_factory=list)


class Runtime:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- inbound ------------------------------------------------------------------------------
    def handle_inbound(self, msg: InboundMessage, now: datetime | None = None) -> InboundResult:
        """Dedupe, run the engine, write the outbox, commit. A provider retry changes nothing."""
        now = now or self.ctx.clock()
        with self.ctx.db.begin() as db:
            inbound_id = insert_ignore(db, m.InboundMessage.__table__,  # type: ignore[arg-type]
                                       {"channel": msg.channel, "provider_id": msg.provider_id,
                                        "text": msg.text[:10_000], "received_at": now}, returning="id")
            if inbound_id is None:
                return InboundResult(duplicate=True)
            contact = self._contact_for(db, msg.channel, msg.address, now)
            db.get(m.InboundMessage, inbound_id).contact_id = contact.id  # type: ignore[union-attr]
            applied = self._step(db, contact, Message(msg.text, msg.keyword_hint), now)
            db.flush()
            return InboundResult(False, contact.id, [o.id for o in applied.outbox], [o.id for o in applied.crisis])

    def _contact_for(self, db: DB, channel: str, address: str, now: datetime) -> m.Contact:
        zone, country = guess_from_phone(address) if channel == "sms" else (None, None)
        insert_ignore(db, m.Contact.__table__, {  # type: ignore[arg-type]
            "channel": channel, "address": address, "status": "new", "locale": "en",
            "timezone": zone, "country": country or self.ctx.settings.default_country,
            "paused_indefinitely": False, "session": Session(profile={"country": country or self.ctx.settings.default_country}).to_json(),
            "created_at": now, "updated_at": now})
        contact = db.execute(select(m.Contact).where(m.Contact.channel == channel, m.Contact.address == address)
                             .with_for_update()).scalar_one()
        return contact

    def _step(self, db: DB, contact: m.Contact, input_: Input, now: datetime, applied: Applied | None = None) -> Applied:
        session = Session.from_json(contact.session)
        new_session, events = step(self.ctx.program.current.program, session, input_, now)
        return apply_events(self.ctx, db, contact, new_session, events, now, applied)

    def run_input(self, contact_id: int, input_: Input, now: datetime | None = None) -> Applied:
        now = now or self.ctx.clock()
        with self.ctx.db.begin() as db:
            contact = db.execute(select(m.Contact).where(m.Contact.id == contact_id).with_for_update()).scalar_one()
            applied = self._step(db, contact, input_, now)
            db.flush()
            return applied

    # --- timers -------------------------------------------------------------------------------
    def fire_due(self, now: datetime | None = None, batch: int = 500) -> TickReport:
        """Fire every due timer as of `now`, batch by batch; rows another worker holds are skipped."""
        now = now or self.ctx.clock()
        report = TickReport()
        while True:
            with self.ctx.db.begin() as db:
                rows = db.execute(select(m.Timer, m.Contact).join(m.Contact, m.Contact.id == m.Timer.contact_id)
                                  .where(m.Timer.due_at <= now).order_by(m.Timer.due_at).limit(batch)
                                  .with_for_update(skip_locked=True)).all()
                if not rows:
                    return report
                applied = Applied()
                moved = 0
                for timer, contact in rows:
                    moved += self._fire(db, timer, contact, now, applied, report)
                db.flush()
                report.outbox_ids += [o.id for o in applied.outbox]
            if moved == 0:
                return report  # only timers that must wait remain due

    def _fire(self, db: DB, timer: m.Timer, contact: m.Contact, now: datetime, applied: Applied, report: TickReport) -> int:
        kind = timer.kind
        if kind in ("wait", "followup"):
            db.delete(timer)
            if kind == "wait":
                report.timeouts += 1
                self._step(db, contact, Timeout(timer.seq or 0), now, applied)
            elif contact.status != "opted_out":
                self._step(db, contact, Trigger(TRIGGERS[kind]), now, applied)
            return 1
        at = schedule.daily_time(contact, kind)
        if at is None or timer.local_date is None:
            db.delete(timer)
            return 1
        slot = Slot(kind, timer.local_date, timer.due_at)  # type: ignore[arg-type]
        verdict = decide(slot, now, zone_of(contact, self.ctx.settings), quiet_of(contact, self.ctx.settings))
        if verdict == "wait":
            return 0
        if verdict == "fire" and schedule.record_delivery(db, contact, kind, self.ctx.settings, now, slot.local_date):
            report.fired += 1
            self._step(db, contact, Trigger(TRIGGERS[kind]), now, applied)
        else:
            report.skipped += 1
        schedule.plan_next(db, contact, kind, self.ctx.settings, now, slot.local_date)
        return 1
