"""Read-only questions for exports, the CLI and the simulator: nothing here takes a lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.queries.families import FAMILY

_Contact, _Timer, _Outbox = m.Contact, m.Timer, m.OutboundMessage


# --- one family, by its address ----------------------------------------------------------------
def family_at(db: Session, channel: str, address: str) -> Sequence[Any] | None:
    """The family with this address (the columns of FAMILY), or None."""
    query = select(*FAMILY).where(_Contact.channel == channel, _Contact.address == address)
    return db.execute(query).first()


def timer_due(db: Session, channel: str, address: str, kind: str) -> datetime | None:
    """When this family's `kind` timer is due, or None when it has none."""
    query = (
        select(_Timer.due_at)
        .join(_Contact)
        .where(_Contact.channel == channel, _Contact.address == address, _Timer.kind == kind)
    )
    return db.execute(query).scalar()


def first_due(
    db: Session, contact_id: int
) -> tuple[list[tuple[datetime, str]], list[tuple[datetime, str]]]:
    """A family's timers (due, kind) and queued messages (not before, message id)."""
    timers = db.execute(select(_Timer.due_at, _Timer.kind).where(_Timer.contact_id == contact_id))
    queued = db.execute(
        select(_Outbox.not_before, _Outbox.message_id).where(
            _Outbox.contact_id == contact_id, _Outbox.status == "queued"
        )
    )
    return [tuple(t) for t in timers], [tuple(q) for q in queued]  # type: ignore[misc]


def checkin_values(db: Session, address: str) -> list[str]:
    """The check-ins recorded for this address, oldest first."""
    query = (
        select(m.Checkin.value)
        .join(_Contact)
        .where(_Contact.address == address)
        .order_by(m.Checkin.id)
    )
    return list(db.scalars(query))


def held_messages(db: Session, address: str) -> list[tuple[str, datetime]]:
    """(message id, not before) of the messages queued for this address."""
    query = select(_Outbox.message_id, _Outbox.not_before).where(
        _Outbox.status == "queued", _Outbox.address == address
    )
    return [(message_id, not_before) for message_id, not_before in db.execute(query)]


# --- the whole database ------------------------------------------------------------------------
def next_timer_due(db: Session) -> datetime | None:
    return db.execute(select(func.min(_Timer.due_at))).scalar()


def next_queued(db: Session) -> datetime | None:
    """When the earliest queued outbox row may go."""
    query = select(func.min(_Outbox.not_before)).where(_Outbox.status == "queued")
    return db.execute(query).scalar()


def outbox_by_id(db: Session, ids: Iterable[int]) -> dict[int, tuple[str, str, datetime | None]]:
    """(message id, kind, sent at) of these outbox rows, by id."""
    query = select(_Outbox.id, _Outbox.message_id, _Outbox.kind, _Outbox.sent_at).where(
        _Outbox.id.in_(list(ids))
    )
    return {
        row_id: (message_id, kind, sent_at)
        for row_id, message_id, kind, sent_at in db.execute(query)
    }


# --- exports -----------------------------------------------------------------------------------
def contacts(db: Session) -> Iterable[m.Contact]:
    return db.scalars(select(_Contact).order_by(_Contact.id))


def checkins(db: Session) -> Iterable[tuple[m.Checkin, m.Contact]]:
    query = select(m.Checkin, _Contact).join(_Contact).order_by(m.Checkin.id)
    return db.execute(query).all()  # type: ignore[return-value]


def alerts(db: Session) -> Iterable[tuple[m.Alert, m.Contact]]:
    query = select(m.Alert, _Contact).join(_Contact).order_by(m.Alert.id)
    return db.execute(query).all()  # type: ignore[return-value]


def inbound_with_address(db: Session) -> Iterable[tuple[m.InboundMessage, str | None]]:
    """Every inbound message, with its family's address (None when it has no family)."""
    query = (
        select(m.InboundMessage, _Contact.address)
        .outerjoin(_Contact, _Contact.id == m.InboundMessage.contact_id)
        .order_by(m.InboundMessage.id)
    )
    return db.execute(query).all()  # type: ignore[return-value]


def outbox(db: Session) -> Iterable[m.OutboundMessage]:
    return db.scalars(select(_Outbox).order_by(_Outbox.id))
