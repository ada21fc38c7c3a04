"""The runtime's services: an inbound message, a due timer, an admin enrolment. Each is one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session as DB

from bot.channels.base import InboundMessage
from bot.engine import Message, step
from bot.engine.inputs import Input
from bot.engine.session import Session
from bot.runtime.context import Context
from bot.runtime.effects import Applied, apply_events
from bot.runtime.family_clock import guess_from_phone
from bot.runtime.tick import Tick, TickReport
from storage import models as m
from storage.upsert import insert_ignore, insert_ignore_statement

log = logging.getLogger(__name__)


@dataclass
class InboundResult:
    duplicate: bool
    contact_id: int | None = None
    outbox_ids: list[int] = field(default_factory=list)
    crisis_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Statements:
    """The inbound path's statements, built once per database dialect and reused with new values."""

    record_inbound: Any  # INSERT ... ON CONFLICT DO NOTHING RETURNING id: the provider-retry dedupe
    find_contacts: Any  # the contacts of one channel by address, locked for this transaction

    @classmethod
    def for_dialect(cls, dialect: str) -> _Statements:
        return cls(
            insert_ignore_statement(dialect, m.InboundMessage.__table__, "id"),  # type: ignore[arg-type]
            select(m.Contact)
            .where(
                m.Contact.channel == bindparam("channel"),
                m.Contact.address.in_(bindparam("addresses", expanding=True)),
            )
            .with_for_update(),
        )


class Runtime:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._statements: dict[str, _Statements] = {}

    def _sql(self, db: DB) -> _Statements:
        dialect = db.get_bind().dialect.name
        if dialect not in self._statements:
            self._statements[dialect] = _Statements.for_dialect(dialect)
        return self._statements[dialect]

    # --- inbound ------------------------------------------------------------------------------
    def handle_inbound(self, msg: InboundMessage, now: datetime | None = None) -> InboundResult:
        """Dedupe, run the engine, write the outbox, commit. A provider retry changes nothing."""
        with self.ctx.db.begin() as db:
            return self._inbound(db, [msg], now)[0]

    def handle_inbound_many(self, msgs: list[InboundMessage]) -> list[InboundResult | Exception]:
        """Several messages in one transaction and one commit, each as `handle_inbound` would do it.

        If any of them raises, the whole transaction rolls back and each is done again alone, so
        a bad message fails only itself: its outcome is its exception.
        """
        try:
            with self.ctx.db.begin() as db:
                return list(self._inbound(db, msgs))
        except Exception as exc:
            if len(msgs) == 1:
                return [exc]
        outcomes: list[InboundResult | Exception] = []
        for msg in msgs:
            try:
                outcomes.append(self.handle_inbound(msg))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _inbound(
        self, db: DB, msgs: list[InboundMessage], now: datetime | None = None
    ) -> list[InboundResult]:
        """Messages in order inside the caller's transaction; one flush at the end gives the outbox ids."""
        sql = self._sql(db)
        known = self._contacts(db, msgs)
        handled: list[tuple[m.Contact, Applied] | None] = []
        for msg in msgs:
            at = now or self.ctx.clock()
            contact = known.get((msg.channel, msg.address))
            # The usual case, a known contact: the inbound row goes in with its contact, in one statement.
            inbound_id = (
                db.connection()
                .execute(
                    sql.record_inbound,
                    {
                        "channel": msg.channel,
                        "provider_id": msg.provider_id,
                        "text": msg.text[:10_000],
                        "received_at": at,
                        "contact_id": contact.id if contact else None,
                    },
                )
                .scalar()
            )
            if inbound_id is None:
                handled.append(None)  # a provider retry: nothing changes
                continue
            if contact is None:
                contact = known[(msg.channel, msg.address)] = self._new_contact(
                    db, msg.channel, msg.address, at
                )
                db.execute(
                    update(m.InboundMessage)
                    .where(m.InboundMessage.id == inbound_id)
                    .values(contact_id=contact.id)
                )
            handled.append(
                (
                    contact,
                    self._step(
                        db, contact, Message(msg.text, msg.keyword_hint, msg.language_hint), at
                    ),
                )
            )
        db.flush()  # one flush for all: same-table rows go in together
        return [
            InboundResult(duplicate=True)
            if h is None
            else InboundResult(
                False, h[0].id, [o.id for o in h[1].outbox], [o.id for o in h[1].crisis]
            )
            for h in handled
        ]

    def _contacts(self, db: DB, msgs: list[InboundMessage]) -> dict[tuple[str, str], m.Contact]:
        """The known contacts of these messages, in one query a channel."""
        by_channel: dict[str, set[str]] = {}
        for msg in msgs:
            by_channel.setdefault(msg.channel, set()).add(msg.address)
        find = self._sql(db).find_contacts
        return {
            (c.channel, c.address): c
            for channel, addresses in by_channel.items()
            for c in db.execute(
                find, {"channel": channel, "addresses": sorted(addresses)}
            ).scalars()
        }

    def _new_contact(self, db: DB, channel: str, address: str, now: datetime) -> m.Contact:
        """A first message from this address: the contact, unless a racing first message made it just now."""
        zone, country = guess_from_phone(address) if channel == "sms" else (None, None)
        insert_ignore(
            db,
            m.Contact.__table__,  # type: ignore[arg-type]
            {
                "channel": channel,
                "address": address,
                "status": "new",
                "locale": "en",
                "timezone": zone,
                "country": country or self.ctx.settings.default_country,
                "paused_indefinitely": False,
                "session": Session(
                    profile={"country": country or self.ctx.settings.default_country}
                ).to_json(),
                "created_at": now,
                "updated_at": now,
            },
        )
        return db.execute(
            self._sql(db).find_contacts, {"channel": channel, "addresses": [address]}
        ).scalar_one()

    def _step(
        self,
        db: DB,
        contact: m.Contact,
        input_: Input,
        now: datetime,
        applied: Applied | None = None,
    ) -> Applied:
        session = Session.from_json(contact.session)
        new_session, events = step(self.ctx.program.current.program, session, input_, now)
        return apply_events(self.ctx, db, contact, new_session, events, now, applied)

    def run_input(self, contact_id: int, input_: Input, now: datetime | None = None) -> Applied:
        now = now or self.ctx.clock()
        with self.ctx.db.begin() as db:
            contact = db.execute(
                select(m.Contact).where(m.Contact.id == contact_id).with_for_update()
            ).scalar_one()
            applied = self._step(db, contact, input_, now)
            db.flush()
            return applied

    # --- timers -------------------------------------------------------------------------------
    def fire_due(self, now: datetime | None = None, batch: int = 500) -> TickReport:
        """Fire every due timer as of `now`, batch by batch; rows another worker holds are skipped."""
        return Tick(self, now or self.ctx.clock()).run(batch)
