"""The real app on a virtual clock: what `craftbot chat`, `craftbot simulate` and the tests drive.

Nothing is faked but time and the provider: messages go through the real engine, runtime,
database, scheduler and dispatcher, and land in a list instead of a phone.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.app import App, build
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.engine.session import Session
from bot.settings import Settings
from storage import models as m


@dataclass(frozen=True)
class Sent:
    """One message the family member received, as a transcript sees it."""

    message_id: str
    text: str
    kind: str
    at: datetime


class Harness:
    def __init__(
        self,
        settings: Settings,
        start: datetime,
        channel: ChannelName = "sms",
        address: str = "+15550100",
    ) -> None:
        self.now = start
        self.channel, self.address = channel, address
        self._delivered: list[OutboundMessage] = []
        self._ids = itertools.count(1)
        channels = {
            name: ConsoleChannel(self._delivered.append, name)
            for name in ("sms", "telegram", "email")
        }
        self.app: App = build(
            settings, channels=channels, clock=lambda: self.now, rate_limits=False
        )

    # --- what the family member does ------------------------------------------------------------
    def say(self, text: str, hint: str | None = None) -> list[Sent]:
        mark = len(self._delivered)
        message = InboundMessage(self.channel, self.address, text, f"sim-{next(self._ids)}", hint)
        self.app.runtime.handle_inbound(message, self.now)
        self._dispatch()
        return self._since(mark)

    # --- how time moves -------------------------------------------------------------------------
    def advance(self, delta: timedelta) -> list[Sent]:
        return self.advance_to(self.now + delta)

    def advance_to(self, target: datetime) -> list[Sent]:
        """Jump from one due moment to the next until `target`, ticking at each, as workers would."""
        mark = len(self._delivered)
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.tick()
        self.now = max(self.now, target)
        self.tick()
        return self._since(mark)

    def until(self, kind: str) -> list[Sent]:
        """Move to this contact's next lesson / checkin / nudge and fire it."""
        with self.app.ctx.db() as db:
            due = db.execute(
                select(m.Timer.due_at)
                .join(m.Contact)
                .where(
                    m.Contact.channel == self.channel,
                    m.Contact.address == self.address,
                    m.Timer.kind == kind,
                )
            ).scalar()
        if due is None:
            raise LookupError(f"nothing of kind '{kind}' is scheduled for {self.address}")
        return self.advance_to(due)

    def tick(self) -> None:
        self.app.runtime.fire_due(self.now)
        self._dispatch()

    def next_due(self) -> datetime | None:
        with self.app.ctx.db() as db:
            timer = db.execute(select(func.min(m.Timer.due_at))).scalar()
            outbox = db.execute(
                select(func.min(m.OutboundMessage.not_before)).where(
                    m.OutboundMessage.status == "queued"
                )
            ).scalar()
        candidates = [t for t in (timer, outbox) if t is not None]
        due = min(candidates) if candidates else None
        return (
            max(due, self.now + timedelta(seconds=1))
            if due is not None and due <= self.now
            else due
        )

    # --- what we can look at --------------------------------------------------------------------
    def contact(self) -> m.Contact | None:
        with self.app.ctx.db() as db:
            return db.execute(
                select(m.Contact).where(
                    m.Contact.channel == self.channel, m.Contact.address == self.address
                )
            ).scalar()

    def session(self) -> Session:
        contact = self.contact()
        return Session.from_json(contact.session if contact else None)

    def checkins(self) -> list[str]:
        with self.app.ctx.db() as db:
            return list(
                db.scalars(
                    select(m.Checkin.value)
                    .join(m.Contact)
                    .where(m.Contact.address == self.address)
                    .order_by(m.Checkin.id)
                )
            )

    def held(self) -> list[tuple[str, datetime]]:
        """Messages waiting for quiet hours to end."""
        with self.app.ctx.db() as db:
            return [
                (r.message_id, r.not_before)
                for r in db.scalars(
                    select(m.OutboundMessage).where(
                        m.OutboundMessage.status == "queued",
                        m.OutboundMessage.address == self.address,
                    )
                )
            ]

    def close(self) -> None:
        asyncio.run(self.app.aclose())

    def _dispatch(self) -> None:
        asyncio.run(self.app.dispatcher.drain(self.now))

    def _since(self, mark: int) -> list[Sent]:
        delivered = self._delivered[mark:]
        if not delivered:
            return []
        with self.app.ctx.db() as db:
            rows = {
                r.id: r
                for r in db.scalars(
                    select(m.OutboundMessage).where(
                        m.OutboundMessage.id.in_([d.id for d in delivered])
                    )
                )
            }
        return [
            Sent(rows[d.id].message_id, d.text, rows[d.id].kind, rows[d.id].sent_at or self.now)
            for d in delivered
            if d.id in rows and d.address == self.address
        ]
