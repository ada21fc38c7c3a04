"""Applying the engine's events inside the open transaction: one small handler per event type."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import delete, update
from sqlalchemy.orm import Session as DB

from bot.catalog.render import Audience, Renderer, render
from bot.engine import events as ev
from bot.engine.session import INDEFINITE, Session
from bot.runtime import schedule
from bot.runtime.context import Context
from bot.runtime.family_clock import quiet_of, zone_of
from bot.scheduling.clock import next_allowed
from storage import models as m

log = logging.getLogger(__name__)
PROFILE_COLUMNS = (
    "name",
    "relationship",
    "loved_one",
    "timezone",
    "lesson_time",
    "checkin_time",
    "locale",
    "country",
)
CRISIS_CATEGORIES = ("overdose", "suicide", "violence")
# An email's subject line, by kind of message: catalog ids, so it reads in the family's language.
SUBJECTS = {"normal": "email.subject", "crisis": "email.subject_crisis"}
SUBJECTS["compliance"] = "email.subject_compliance"


class FamilyRow(Protocol):
    """What rendering needs of a contact: an ORM Contact, or a row of the fan-out's Core select."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def relationship(self) -> str | None: ...


@dataclass
class Applied:
    outbox: list[m.OutboundMessage] = field(default_factory=list)
    alerts: list[m.Alert] = field(default_factory=list)
    # (contact id, kind, local date) already in `deliveries` in this transaction: claiming one
    # again would be a no-op insert, so the fan-out skips the round trip.
    claimed: set[tuple[int, str, date]] = field(default_factory=set)

    @property
    def crisis(self) -> list[m.OutboundMessage]:
        return [o for o in self.outbox if o.kind == "crisis"]


def apply_events(
    ctx: Context,
    db: DB,
    contact: m.Contact,
    session: Session,
    events: list[ev.Event],
    now: datetime,
    applied: Applied | None = None,
) -> Applied:
    applied = applied or Applied()
    order = ctx.program.current.program.flows.order
    contact.session = session.to_json()
    contact.status = session.status
    contact.updated_at = now
    reschedule = False
    for event in events:
        if isinstance(event, ev.Say):
            applied.outbox.append(enqueue(ctx, db, contact, session, event, now))
            if event.message_id in order.lessons or event.message_id in order.maintenance:
                local = now.astimezone(zone_of(contact, ctx.settings)).date()
                if (contact.id, "lesson", local) not in applied.claimed:
                    schedule.record_delivery(db, contact, "lesson", ctx.settings, now, local)
        elif isinstance(event, ev.RecordCheckin):
            local = now.astimezone(zone_of(contact, ctx.settings)).date()
            db.add(m.Checkin(contact_id=contact.id, value=event.value, local_date=local, at=now))
        elif isinstance(event, ev.SetProfile):
            if event.field in PROFILE_COLUMNS:
                setattr(contact, event.field, event.value)
            reschedule = reschedule or event.field in ("timezone", "lesson_time", "checkin_time")
        elif isinstance(event, ev.WaitStarted):
            schedule.set_wait(db, contact, event.seq, event.timeout_s, now)
        elif isinstance(event, ev.ConsentChanged):
            db.add(
                m.Consent(
                    contact_id=contact.id,
                    given=event.given,
                    action=event.action,
                    channel=contact.channel,
                    by="self",
                    words=event.words[:2000],
                    at=now,
                )
            )
            if not event.given:
                cancel_pending(db, contact.id)
            reschedule = True
        elif isinstance(event, ev.PauseChanged):
            contact.paused_indefinitely = session.paused_until == INDEFINITE
            contact.paused_until = event.until if event.paused else None
        elif isinstance(event, ev.OnboardingCompleted):
            reschedule = True
        elif isinstance(event, ev.CrisisDetected):
            applied.alerts.append(raise_alert(ctx, db, contact, event, now, applied))
        elif isinstance(event, ev.FollowupScheduled):
            due = next_allowed(
                event.at, zone_of(contact, ctx.settings), quiet_of(contact, ctx.settings)
            )
            schedule.set_timer(db, contact.id, "followup", due)
        elif isinstance(event, (ev.FlowReset, ev.Ignored)):
            log.info("contact %s: %s", contact.id, event)
    if reschedule:
        schedule.reschedule(db, contact, ctx.settings, now)
    return applied


def enqueue(
    ctx: Context, db: DB, contact: m.Contact, session: Session, say: ev.Say, now: datetime
) -> m.OutboundMessage:
    """Render for this family and channel, and hold it until quiet hours end unless it is a crisis reply."""
    held = (
        now
        if say.kind == "crisis"
        else next_allowed(now, zone_of(contact, ctx.settings), quiet_of(contact, ctx.settings))
    )
    row = m.OutboundMessage(**outbox_row(ctx, contact, session, say, now, held))
    db.add(row)
    return row


def outbox_row(
    ctx: Context,
    contact: FamilyRow,
    session: Session,
    say: ev.Say,
    now: datetime,
    not_before: datetime,
    renderer: Renderer | None = None,
) -> dict[str, object]:
    """The values of one outbox row for `say` (one place, for `enqueue` and the fan-out's batched writes).

    `not_before` is `now` for a crisis reply, else when this family's quiet hours allow; a
    `renderer` shared by many rows chooses each message's words once.
    """
    catalogs = ctx.program.current.catalogs
    profile = {
        **session.profile,
        "relationship": session.profile.get("relationship") or contact.relationship or "",
    }
    audience = Audience(channel=contact.channel, locale=contact.locale or "en", profile=profile)
    words = renderer.render if renderer else render
    text = words(catalogs, say.message_id, audience, ctx.org())
    return {
        "contact_id": contact.id,
        "channel": contact.channel,
        "address": contact.address,
        "message_id": say.message_id,
        "kind": say.kind,
        "text": text,
        "subject": words(catalogs, SUBJECTS[say.kind], audience, ctx.org())
        if contact.channel == "email"
        else None,
        "status": "queued",
        "not_before": not_before,
        "attempts": 0,
        "created_at": now,
    }


def cancel_pending(db: DB, contact_id: int) -> None:
    """After STOP: queued everyday messages are cancelled; crisis and the confirmation still go."""
    db.execute(
        update(m.OutboundMessage)
        .where(
            m.OutboundMessage.contact_id == contact_id,
            m.OutboundMessage.status == "queued",
            m.OutboundMessage.kind == "normal",
        )
        .values(status="cancelled")
    )
    db.execute(
        delete(m.Timer).where(
            m.Timer.contact_id == contact_id,
            m.Timer.kind.in_(("lesson", "checkin", "nudge", "followup")),
        )
    )


def raise_alert(
    ctx: Context,
    db: DB,
    contact: m.Contact,
    event: ev.CrisisDetected,
    now: datetime,
    applied: Applied,
) -> m.Alert:
    alert = m.Alert(
        contact_id=contact.id,
        category=event.category,
        matched=", ".join(event.matched),
        text=event.text[:2000],
        at=now,
        notified=False,
    )
    db.add(alert)
    # Everyday messages still queued for this family (an evening reply held for the morning, a
    # lesson waiting in a fan-out) would arrive after the emergency reply: a cheerful lesson must
    # never follow "she overdosed". What this same step wrote still goes.
    db.flush()
    this_step = [o.id for o in applied.outbox if o.contact_id == contact.id]
    db.execute(
        update(m.OutboundMessage)
        .where(
            m.OutboundMessage.contact_id == contact.id,
            m.OutboundMessage.status == "queued",
            m.OutboundMessage.kind == "normal",
            m.OutboundMessage.id.notin_(this_step),
        )
        .values(status="cancelled")
    )
    answered = (
        f"They got the {event.category} emergency reply."
        if event.category in CRISIS_CATEGORIES
        else f"They answered the {event.category} question: {', '.join(event.matched) or 'see text'}."
    )
    notice = (
        f"craftbot crisis alert ({event.category}) from {contact.name or 'a family member'} on "
        f"{contact.channel} {contact.address} at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC. They wrote: "
        f'"{event.text[:300]}". {answered} Please reach out.'
    )
    for channel in ("sms", "email", "telegram"):
        for address in ctx.settings.staff(channel):
            row = m.OutboundMessage(
                contact_id=None,
                channel=channel,
                address=address,
                message_id="staff.alert",
                kind="crisis",
                text=notice,
                subject=f"craftbot crisis alert: {event.category}" if channel == "email" else None,
                status="queued",
                not_before=now,
                attempts=0,
                created_at=now,
            )
            db.add(row)
            applied.outbox.append(row)
            alert.notified = True
    return alert


def opt_out(db: DB, contact_id: int, channel: str, by: str, words: str, now: datetime) -> bool:
    """Opt a contact out for a reason outside the conversation: a provider refusal, an unsubscribe
    link, a spam report. Recorded like any consent change; queued everyday messages cancelled."""
    contact = db.get(m.Contact, contact_id)
    if contact is None or contact.status == "opted_out":
        return False
    contact.status = "opted_out"
    contact.session = Session.from_json(contact.session).with_(status="opted_out").to_json()
    db.add(
        m.Consent(
            contact_id=contact_id,
            given=False,
            action="opt_out",
            channel=channel,
            by=by,
            words=words[:500],
            at=now,
        )
    )
    cancel_pending(db, contact_id)
    return True
