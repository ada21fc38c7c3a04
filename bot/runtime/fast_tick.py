"""The fan-out's common case without ORM objects: a due daily timer whose step only says things and asks.

A morning tick fires one lesson for each of 100,000 families. Building an ORM Contact and an ORM
OutboundMessage for each cost about half the tick, so for a family with one due daily timer in the
batch whose engine step yields nothing but Say, WaitStarted (with a timeout), FlowStarted, FlowEnded
and Ignored, the tick reads the row as a tuple and writes what `apply_events` would write with one
executemany per table and batch (bot/runtime/many.py). Everything else goes through `apply_events`
as before; the rows written are the same (tests/test_tick_fast_path.py compares both paths table
by table, as stored).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.orm import Session as DB

from bot.catalog.render import Renderer
from bot.engine import events as ev
from bot.engine.session import Session
from bot.runtime import schedule
from bot.runtime.context import Context
from bot.runtime.effects import Applied, outbox_row
from bot.runtime.many import Many
from storage import models as m

# The logger apply_events writes "contact N: Ignored(...)" to: the same lines whichever path ran.
log = logging.getLogger("bot.runtime.effects")
_TIMERS: Table = m.Timer.__table__  # type: ignore[assignment]
_CONTACTS: Table = m.Contact.__table__  # type: ignore[assignment]
_OUTBOX: Table = m.OutboundMessage.__table__  # type: ignore[assignment]
# Everything the fast path and the tick's scheduling read of a due timer and its contact; no two
# of these columns share a name, so one row serves as both the timer and the contact.
DUE_COLUMNS = (
    _TIMERS.c.contact_id,
    _TIMERS.c.kind,
    _TIMERS.c.due_at,
    _TIMERS.c.local_date,
    _TIMERS.c.seq,
    _CONTACTS.c.id,
    _CONTACTS.c.channel,
    _CONTACTS.c.address,
    _CONTACTS.c.status,
    _CONTACTS.c.locale,
    _CONTACTS.c.timezone,
    _CONTACTS.c.relationship,
    _CONTACTS.c.lesson_time,
    _CONTACTS.c.checkin_time,
    _CONTACTS.c.quiet_start,
    _CONTACTS.c.quiet_end,
    _CONTACTS.c.session,
)
# A row of DUE_COLUMNS. It reads like both a Timer and a Contact (row.kind, row.timezone), which is
# how the tick's memo and render take it; typed Any because Row's attributes are Any anyway.
DueRow = Any
_SKIPPED_EVENTS = (ev.FlowStarted, ev.FlowEnded)  # apply_events does nothing for these


def due_rows(now: datetime, batch: int) -> Select[Any]:
    """The same rows, order and locks as the ORM select of (Timer, Contact), as plain tuples."""
    return (
        select(*DUE_COLUMNS)
        .join_from(_TIMERS, _CONTACTS, _CONTACTS.c.id == _TIMERS.c.contact_id)
        .where(_TIMERS.c.due_at <= now)
        .order_by(_TIMERS.c.due_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )


@dataclass
class FastWrites:
    """One batch's rows from the fast path, written with one executemany per table.

    Outbox rows go in processing order: before an ORM step adds rows, `flush_outbox` writes the
    ones gathered so far, so ids come out in the same order as when every step used the ORM.
    """

    outbox: list[dict[str, object]] = field(default_factory=list)
    waits: list[dict[str, object]] = field(default_factory=list)
    contacts: list[dict[str, object]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    many: Many = field(default_factory=Many)

    def flush_outbox(self, db: DB) -> None:
        """Write the outbox rows and waits gathered so far, before an ORM step writes its own."""
        if self.outbox:
            db.flush()  # rows the ORM holds for earlier steps get their ids first
            self.outbox_ids += self.many.insert(db, "outbox", _OUTBOX, self.outbox)
            self.outbox = []
        if self.waits:  # new timer rows in step order too (ties in due_at are read in row order)
            self.many.execute(db, "timers", lambda: schedule.timers_upsert(db), self.waits)
            self.waits = []

    def flush(self, db: DB) -> None:
        self.flush_outbox(db)
        self.many.execute(db, "contacts", _contact_update, self.contacts)
        self.contacts = []


def _contact_update() -> Any:
    return (
        update(_CONTACTS)
        .where(_CONTACTS.c.id == bindparam("b_id"))
        .values(
            session=bindparam("b_session"),
            status=bindparam("b_status"),
            updated_at=bindparam("b_updated_at"),
        )
    )


def fast_effects(
    ctx: Context,
    row: DueRow,
    session: Session,
    events: Sequence[ev.Event],
    now: datetime,
    held_until: datetime,
    lessons: frozenset[str],
    today: Any,
    applied: Applied,
    writes: FastWrites,
    renderer: Renderer,
) -> bool:
    """Gather what `apply_events` writes for this step, or return False (nothing gathered) when the
    step yields anything else, so the caller applies it through the ORM.

    `held_until` is `next_allowed(now, zone, quiet)` for this family; `today` their local date now;
    `lessons` the lesson and review ids (a lesson said on a day not yet claimed claims it there).
    """
    if not _fast_only(row.id, events, lessons, (row.id, "lesson", today), applied.claimed):
        return False
    for event in events:
        if type(event) is ev.Say:
            writes.outbox.append(
                outbox_row(
                    ctx,
                    row,
                    session,
                    event,
                    now,
                    now if event.kind == "crisis" else held_until,
                    renderer,
                )
            )
        elif type(event) is ev.WaitStarted:
            assert event.timeout_s is not None  # _fast_only let only these through
            writes.waits.append(
                schedule.timer_row(
                    row.id, "wait", now + timedelta(seconds=event.timeout_s), seq=event.seq
                )
            )
        elif type(event) is ev.Ignored:
            log.info("contact %s: %s", row.id, event)
    writes.contacts.append(
        {
            "b_id": row.id,
            "b_session": session.to_json(),
            "b_status": session.status,
            "b_updated_at": now,
        }
    )
    return True


def _fast_only(
    contact_id: int,
    events: Iterable[ev.Event],
    lessons: frozenset[str],
    lesson_today: tuple[int, str, Any],
    claimed: set[Any],
) -> bool:
    for event in events:
        kind = type(event)
        if kind is ev.Say:
            if event.message_id in lessons and lesson_today not in claimed:  # type: ignore[union-attr]
                return False  # apply_events claims today's lesson: leave it to it
        elif kind is ev.WaitStarted:
            if event.timeout_s is None:  # type: ignore[union-attr]
                return False
        elif kind is not ev.Ignored and kind not in _SKIPPED_EVENTS:
            return False
    return True
