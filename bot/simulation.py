"""The real app on a virtual clock: what `craftbot chat`, `craftbot simulate` and the tests drive.

Nothing is faked but time and the provider: messages go through the real engine, runtime,
database, scheduler and dispatcher, and land in a list instead of a phone.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app import App, build
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.engine.session import Session
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.settings import Settings
from storage.queries import reads


@dataclass(frozen=True)
class Sent:
    """One message the family member received, as a transcript sees it."""

    message_id: str
    text: str
    kind: str
    at: datetime
    subject: str | None = None  # an email's


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
        # Inbound ids unique to this run: a chat database used again (`make run` twice) has the
        # ids of earlier runs, and an id seen before is a provider's retry, dropped unanswered.
        self._run = secrets.token_hex(4)
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
        message_id = f"sim-{self._run}-{next(self._ids)}"
        message = InboundMessage(self.channel, self.address, text, message_id, hint)
        self.app.runtime.handle_inbound(message, self.now)
        self._dispatch()
        return self._since(mark)

    # --- how time moves -------------------------------------------------------------------------
    def advance(self, delta: timedelta) -> list[Sent]:
        return self.advance_to(self.now + delta)

    def advance_to(self, target: datetime) -> list[Sent]:
        """Jump from one due moment to the next until `target`, ticking at each, as workers
        would."""
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
            due = reads.timer_due(db, self.channel, self.address, kind)
        if due is None:
            raise LookupError(f"nothing of kind '{kind}' is scheduled for {self.address}")
        return self.advance_to(due)

    def tick(self) -> None:
        self.app.runtime.fire_due(self.now)
        self._dispatch()

    def next_due(self) -> datetime | None:
        with self.app.ctx.db() as db:
            timer, outbox = reads.next_timer_due(db), reads.next_queued(db)
        candidates = [t for t in (timer, outbox) if t is not None]
        due = min(candidates) if candidates else None
        return (
            max(due, self.now + timedelta(seconds=1))
            if due is not None and due <= self.now
            else due
        )

    # --- what we can look at --------------------------------------------------------------------
    def contact(self) -> Family | None:
        with self.app.ctx.db() as db:
            values = reads.family_at(db, self.channel, self.address)
        return Family.from_row(values, Clocks(self.app.settings)) if values else None

    def session(self) -> Session:
        family = self.contact()
        return family.session if family else Session()

    def checkins(self) -> list[str]:
        with self.app.ctx.db() as db:
            return reads.checkin_values(db, self.address)

    def held(self) -> list[tuple[str, datetime]]:
        """Messages waiting for quiet hours to end."""
        with self.app.ctx.db() as db:
            return reads.held_messages(db, self.address)

    def close(self) -> None:
        asyncio.run(self.app.aclose())

    def _dispatch(self) -> None:
        asyncio.run(self.app.dispatcher.drain(self.now))

    def _since(self, mark: int) -> list[Sent]:
        delivered = self._delivered[mark:]
        if not delivered:
            return []
        with self.app.ctx.db() as db:
            rows = reads.outbox_by_id(db, [d.id for d in delivered])
        return [
            Sent(rows[d.id][0], d.text, rows[d.id][1], rows[d.id][2] or self.now, d.subject)
            for d in delivered
            if d.id in rows and d.address == self.address
        ]
