"""A family's own data: everything kept about them (MYDATA, `craftbot family export`), erasing it
(DELETE, the console's Remove, `craftbot family delete`), and MYDATA's single-use links.

Every table is named once below: erased (the family's rows go), scrubbed (kept, the family's
words cleared) or kept (holds nothing of a family but what honouring consent needs).
tests/test_family_data.py compares the three with the models, so a new table cannot be forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from storage import models as m
from storage.db import DB

ERASED = {
    "contacts": "the profile: names, relationship, times, language, the conversation's state",
    "consents": "the consent history and the words it was given or withdrawn with",
    "checkins": "the evening check-in answers",
    "program_answers": "answers to the program's questions: safety, stage, wellbeing, lessons",
    "inbound_messages": "what the family wrote",
    "outbound_messages": "what was sent to them, and the staff notices of their alerts",
    "alerts": "crisis alerts about them",
    "alert_notes": "staff notes on those alerts",
    "alert_notices": "who was told of those alerts",
    "questions": "questions for the team and the answers",
    "timers": "what was due later",
    "deliveries": "which days a lesson or check-in went",
    "data_requests": "MYDATA links",
}
SCRUBBED = {"audit_log": "staff actions on the family: kept with its number, details cleared"}
KEPT = {
    "erased_addresses": "the opt-out: a keyed hash of the address, the channel, when and by whom",
    "staff": "the organisation's team, no family data",
    "staff_sessions": "signed-in browsers of the team",
    "provider_events": "provider callback ids for dedupe: no words, no address",
    "channel_pace": "each channel's next free sending slot: no family in it",
}

# What an export holds: (name, model, columns), each table's rows for one family, oldest first.
_EXPORT: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("consents", m.Consent, ("at", "action", "given", "channel", "by", "words")),
    ("checkins", m.Checkin, ("at", "local_date", "value")),
    ("program_answers", m.ProgramAnswer, ("local_date", "question", "value", "lesson")),
    ("messages_from_you", m.InboundMessage, ("received_at", "text")),
    ("messages_to_you", m.OutboundMessage, ("created_at", "sent_at", "status", "subject", "text")),
    ("questions", m.Question, ("asked_at", "text", "status", "answered_at", "answer")),
    ("alerts", m.Alert, ("at", "category", "tier", "status", "text", "closed_at")),
)
PROFILE = (
    "channel",
    "address",
    "status",
    "locale",
    "country",
    "timezone",
    "name",
    "relationship",
    "loved_one",
    "lesson_time",
    "checkin_time",
    "quiet_start",
    "quiet_end",
    "paused_until",
    "created_at",
)


def export(db: DB, contact_id: int) -> dict[str, Any] | None:
    """Everything kept about one family, as plain values (None: no such family)."""
    found = db.execute(
        select(*(getattr(m.Contact, name) for name in PROFILE), m.Contact.session).where(
            m.Contact.id == contact_id
        )
    ).first()
    if found is None:
        return None
    *profile, session = found
    out: dict[str, Any] = {
        "profile": {name: _plain(v) for name, v in zip(PROFILE, profile, strict=True)},
        "answers": json.loads(session or "{}").get("profile", {}),
    }
    for name, model, columns in _EXPORT:
        order = getattr(model, columns[0])
        rows = db.execute(
            select(*(getattr(model, c) for c in columns))
            .where(model.contact_id == contact_id)
            .order_by(order, model.id)
        ).all()
        out[name] = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return out


def contact_address(db: DB, contact_id: int) -> tuple[str, str] | None:
    row = db.execute(
        select(m.Contact.channel, m.Contact.address).where(m.Contact.id == contact_id)
    ).first()
    return (row.channel, row.address) if row else None


def counts(db: DB, contact_id: int) -> dict[str, int]:
    """How many rows of each exported kind a family has (the console's family page)."""
    data = export(db, contact_id) or {}
    return {name: len(data.get(name, [])) for name, _, _ in _EXPORT}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def erase(db: DB, contact_id: int, address_hash: str, by: str, now: datetime) -> bool:
    """Delete every row of ERASED about this family, clear the details of SCRUBBED, and keep the
    address's opt-out as a hash. False: no such family."""
    channel = db.scalar(select(m.Contact.channel).where(m.Contact.id == contact_id))
    if channel is None:
        return False
    alert_ids = select(m.Alert.id).where(m.Alert.contact_id == contact_id)
    # Staff notices of the family's alerts carry their words and have no contact of their own.
    notice_rows = [
        i
        for (i,) in db.execute(
            select(m.AlertNotice.outbox_id).where(
                m.AlertNotice.alert_id.in_(alert_ids), m.AlertNotice.outbox_id.is_not(None)
            )
        )
    ]
    db.execute(delete(m.AlertNote).where(m.AlertNote.alert_id.in_(alert_ids)))
    db.execute(delete(m.AlertNotice).where(m.AlertNotice.alert_id.in_(alert_ids)))
    if notice_rows:
        db.execute(delete(m.OutboundMessage).where(m.OutboundMessage.id.in_(notice_rows)))
    for model in (
        m.DataRequest,
        m.Question,
        m.Alert,
        m.Consent,
        m.Checkin,
        m.InboundMessage,
        m.OutboundMessage,
        m.Timer,
        m.Delivery,
    ):
        db.execute(delete(model).where(model.contact_id == contact_id))
    db.execute(delete(m.Contact).where(m.Contact.id == contact_id))
    db.execute(
        update(m.AuditEntry)
        .where(m.AuditEntry.target == "family", m.AuditEntry.target_id == str(contact_id))
        .values(detail="")
    )
    remember_erased(db, channel, address_hash, by, now)
    return True


def audit(db: DB, action: str, contact_id: int, by: str, via: str, now: datetime) -> None:
    """A staff action on a family's data, outside the console: who (by name), what, when, how."""
    db.execute(
        insert(m.AuditEntry).values(
            at=now,
            staff_id=None,
            staff_email=by,
            action=action,
            target="family",
            target_id=str(contact_id),
            detail=f"via {via}",
            ip="",
        )
    )


def remember_erased(db: DB, channel: str, address_hash: str, by: str, now: datetime) -> None:
    found = db.execute(
        select(m.ErasedAddress.id).where(
            m.ErasedAddress.channel == channel, m.ErasedAddress.address_hash == address_hash
        )
    ).first()
    if found is None:
        db.execute(
            insert(m.ErasedAddress).values(
                channel=channel, address_hash=address_hash, by=by, at=now
            )
        )


def was_erased(db: DB, channel: str, address_hashes: Sequence[str]) -> set[str]:
    """Which of these hashed addresses asked to be erased on this channel."""
    if not address_hashes:
        return set()
    return set(
        db.scalars(
            select(m.ErasedAddress.address_hash).where(
                m.ErasedAddress.channel == channel,
                m.ErasedAddress.address_hash.in_(list(address_hashes)),
            )
        )
    )


# --- MYDATA's links and attachments ---------------------------------------------------------------
def add_requests(db: DB, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        db.execute(insert(m.DataRequest), list(rows))


def take_link(db: DB, token_hash: str, now: datetime) -> int | None:
    """The family a link is for, marking it used; None when unknown, used or expired."""
    row = db.execute(
        select(m.DataRequest.id, m.DataRequest.contact_id)
        .where(
            m.DataRequest.token_hash == token_hash,
            m.DataRequest.used_at.is_(None),
            m.DataRequest.expires_at > now,
        )
        .with_for_update()
    ).first()
    if row is None:
        return None
    db.execute(update(m.DataRequest).where(m.DataRequest.id == row.id).values(used_at=now))
    return int(row.contact_id)


def link_locale(db: DB, token_hash: str, now: datetime) -> str | None:
    """The language of the family a live link is for; None when unknown, used or expired."""
    return db.scalar(
        select(m.Contact.locale)
        .join(m.DataRequest, m.DataRequest.contact_id == m.Contact.id)
        .where(
            m.DataRequest.token_hash == token_hash,
            m.DataRequest.used_at.is_(None),
            m.DataRequest.expires_at > now,
        )
    )


def take_attachments(db: DB, outbox_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Of these outbox rows, those that carry a family's data: {outbox id: contact id}, marked
    used (an email row sent again by a retry carries it again)."""
    if not outbox_ids:
        return {}
    rows = db.execute(
        select(m.DataRequest.outbox_id, m.DataRequest.contact_id).where(
            m.DataRequest.outbox_id.in_(list(outbox_ids))
        )
    ).all()
    if rows:
        db.execute(
            update(m.DataRequest)
            .where(m.DataRequest.outbox_id.in_([r.outbox_id for r in rows]))
            .values(used_at=now)
        )
    return {int(r.outbox_id): int(r.contact_id) for r in rows}
