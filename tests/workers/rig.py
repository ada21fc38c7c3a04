"""The real app on a virtual clock with a recording channel: tick at chosen instants, read what was
sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import delete, select, update

from bot.app import App, build
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.runtime.admin import Enrollment, enroll
from bot.runtime.family_clock import Clocks
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade

CHANNELS: tuple[ChannelName, ...] = ("sms", "telegram", "email")


def migrate(url: str) -> None:
    """Bring a database to the newest schema (build() does this itself only for SQLite)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@dataclass
class Rig:
    app: App
    now: datetime
    loop: asyncio.AbstractEventLoop
    delivered: list[OutboundMessage] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: count(1))

    def tick(self, at: datetime) -> None:
        """One worker pass as of `at`: fire due timers, then send what is due."""
        self.now = at
        self.app.runtime.fire_due(at)
        self.loop.run_until_complete(self.app.dispatcher.drain(at))

    def say(self, address: str, text: str, at: datetime, channel: str = "sms") -> None:
        """The family member writes at `at`; replies that may go now are sent now."""
        self.now = at
        message = InboundMessage(channel, address, text, f"rig-{next(self.ids)}")  # type: ignore[arg-type]
        self.app.runtime.handle_inbound(message, at)
        self.loop.run_until_complete(self.app.dispatcher.drain(at))

    def enroll(
        self,
        address: str,
        at: datetime,
        timezone: str,
        lesson: str = "09:00",
        checkin: str = "19:00",
        quiet: tuple[str, str] | None = None,
    ) -> int:
        self.now = at
        contact_id = enroll(
            self.app.ctx,
            Enrollment("sms", address, timezone=timezone, lesson_time=lesson, checkin_time=checkin),
            at,
        )
        if quiet is not None:
            # as if enrolled with these quiet hours: the welcome waits for their end, not the
            # default's
            clock = Clocks(self.app.settings).of(timezone, *quiet)
            with self.app.ctx.db.begin() as db:
                db.execute(
                    update(m.Contact)
                    .where(m.Contact.id == contact_id)
                    .values(quiet_start=quiet[0], quiet_end=quiet[1])
                )
                db.execute(
                    update(m.OutboundMessage)
                    .where(m.OutboundMessage.contact_id == contact_id)
                    .values(not_before=clock.quiet_until(at) or at)
                )
            self.app.runtime.reschedule([contact_id], at)
        return contact_id

    def wipe(self) -> None:
        """Empty every table, so one rig serves many hypothesis examples."""
        self.delivered.clear()
        with self.app.ctx.db.begin() as db:
            for table in reversed(m.Base.metadata.sorted_tables):
                db.execute(delete(table))

    def outbox(self, contact_id: int | None = None) -> list[m.OutboundMessage]:
        with self.app.ctx.db() as db:
            query = select(m.OutboundMessage).order_by(m.OutboundMessage.id)
            if contact_id is not None:
                query = query.where(m.OutboundMessage.contact_id == contact_id)
            return list(db.scalars(query))

    def contact(self, contact_id: int) -> m.Contact:
        with self.app.ctx.db() as db:
            found = db.get(m.Contact, contact_id)
            assert found is not None
            return found


@contextmanager
def rig(url: str, start: datetime, **settings: Any) -> Iterator[Rig]:
    """A built app on `url` whose clock is the rig's `now`; every channel records into
    `delivered`."""
    migrate(url)
    loop = asyncio.new_event_loop()
    delivered: list[OutboundMessage] = []
    holder: list[Rig] = []
    channels = {name: ConsoleChannel(delivered.append, name) for name in CHANNELS}
    app = build(
        Settings(database_url=url, **settings),
        channels=channels,  # type: ignore[arg-type]
        clock=lambda: holder[0].now,
        rate_limits=False,
    )
    made = Rig(app, start, loop, delivered)
    holder.append(made)
    try:
        yield made
    finally:
        loop.run_until_complete(app.aclose())
        loop.close()
