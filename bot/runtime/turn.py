"""A turn: the one path every inbound message and every due timer takes.

Inside the caller's transaction: the families of a batch are loaded (by the inbound room or the
tick), the engine steps each input of each family in order, in memory, each step's events are
applied by their handlers (bot/runtime/effects.py) into one write buffer (bot/runtime/writes.py),
and `flush` writes the buffer with one statement per table. The caller commits; only then is
anything sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.catalog.render import Renderer
from bot.engine import step
from bot.engine.events import PauseChanged, Say
from bot.engine.inputs import Input
from bot.engine.program import Program
from bot.engine.session import INDEFINITE, Session
from bot.program_files import Loaded
from bot.runtime import summaries
from bot.runtime.alerts.raising import Raiser
from bot.runtime.context import Context
from bot.runtime.effects import Effects, Event, OptedOutElsewhere
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.enqueue import Composer
from bot.runtime.writes import Writes
from storage.db import DB
from storage.queries import families as family_sql
from storage.queries import questions as question_sql


class Turn:
    """The steps of one transaction and their writes. `clocks` and `renderer` may be shared by
    the turns of one tick: their answers hold for the whole tick."""

    def __init__(
        self,
        ctx: Context,
        db: DB,
        clocks: Clocks | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.ctx, self.db = ctx, db
        self.loaded = ctx.program.current
        self._program: Program | None = None
        self.clocks = clocks or Clocks(ctx.settings)
        self.writes = Writes()
        self.effects = Effects(
            self.writes,
            Composer(self.loaded, ctx.settings, renderer or Renderer()),
            self.clocks,
            lesson_ids(self.loaded),
            Raiser(ctx.settings),
        )

    def program(self) -> Program:
        """The program in use, knowing whether a person reads questions (ASK): the console is on
        and someone can sign in to it. Asked once a turn, when a turn first steps."""
        if self._program is None:
            program = self.loaded.program
            if self.ctx.settings.console_enabled and question_sql.anyone_answers(self.db):
                program = replace(program, asking=True)
            self._program = program
        return self._program

    def family(self, values: Sequence[object]) -> Family:
        """A family from the columns of storage.queries.families.FAMILY."""
        return Family.from_row(values, self.clocks)

    def step(
        self, family: Family, input_: Input, now: datetime, in_reply_to: int | None = None
    ) -> tuple[Family, list[int]]:
        """Run the engine for this input and apply its events: the family after, and the outbox
        rows written (indices into `writes.outbox`, ids after `flush`). `in_reply_to` is the
        inbound message's id when the input is one: what it says answers the person."""
        today = family.clock.today(now)
        session, events = step(self.program(), family.session, input_, now, today)
        return self.effects.apply(family, session, events, now, in_reply_to)

    def apply(
        self, family: Family, session: Session, events: Sequence[Event], now: datetime
    ) -> tuple[Family, list[int]]:
        """Apply events that did not come from the engine (an opt-out from outside)."""
        return self.effects.apply(family, session, events, now)

    def flush(self) -> None:
        summaries.fill(self.db, self.writes, self.effects.composer)
        self.writes.flush(self.db)

    def outbox_ids(self, rows: Iterable[int]) -> list[int]:
        """The ids of these outbox rows (after `flush`)."""
        return [self.writes.outbox_ids[i] for i in rows]

    def crisis_ids(self, rows: Iterable[int]) -> list[int]:
        return [
            self.writes.outbox_ids[i] for i in rows if self.writes.outbox[i]["kind"] == "crisis"
        ]


def lesson_ids(loaded: Loaded) -> frozenset[str]:
    """The lesson and review ids of a program: saying one, any way, is that day's lesson."""
    order = loaded.program.flows.order
    return frozenset(order.lessons) | frozenset(order.maintenance)


def reschedule(ctx: Context, db: DB, contact_ids: Iterable[int], now: datetime) -> None:
    """Plan these families' daily timers afresh (after an enrolment or an edit of their times),
    inside the caller's transaction."""
    turn = Turn(ctx, db)
    for values in family_sql.families_by_id(db, contact_ids, lock=True):
        family = turn.family(values)
        turn.writes.reschedule[family.id] = (family, now)
    turn.flush()


def welcome(ctx: Context, db: DB, contact_id: int, message_id: str, now: datetime) -> None:
    """Queue an enrolled family's first message and plan their daily timers, inside the caller's
    transaction. The message is a program message (quiet hours hold it) written before any timer
    can fire, so the first lesson, due no earlier and queued later, never goes before it. It
    does not expire at the day's end as a lesson does: whenever the family first hears from us
    (a channel configured days later), it is what they read first."""
    turn = Turn(ctx, db)
    for values in family_sql.families_by_id(db, [contact_id], lock=True):
        family = turn.family(values)
        family, rows = turn.apply(family, family.session, [Say(message_id)], now)
        for row in rows:
            turn.writes.outbox[row]["expires_at"] = None
        turn.writes.reschedule[family.id] = (family, now)
    turn.flush()


def opt_out(
    ctx: Context, db: DB, contact_id: int, channel: str, by: str, words: str, now: datetime
) -> bool:
    """Opt a family out for a reason outside the conversation (a provider refusal, an unsubscribe
    link, a spam report), inside the caller's transaction. False if they were out already."""
    rows = family_sql.families_by_id(db, [contact_id], lock=True)
    if not rows:
        return False
    turn = Turn(ctx, db)
    family = turn.family(rows[0])
    if family.status == "opted_out":
        return False
    session = family.session.with_(status="opted_out")
    turn.apply(family, session, [OptedOutElsewhere(channel, by, words)], now)
    turn.flush()
    return True


def set_pause(
    ctx: Context, db: DB, contact_id: int, paused: bool, reason: str, now: datetime
) -> str:
    """Pause a family until someone resumes, or resume them, from outside the conversation (the
    console), inside the caller's transaction: the same pause a family sets by texting PAUSE.

    "gone", "opted_out", "already_paused", "not_paused", or "done". A pause with an end (PAUSE
    3 days, the day after a crisis) can become one without; a pause until resumed cannot be set
    twice. A family who opted out gets nothing from the program: there is nothing to pause or
    resume until they text START (a pause they had stays until someone resumes it then).
    """
    rows = family_sql.families_by_id(db, [contact_id], lock=True)
    if not rows:
        return "gone"
    turn = Turn(ctx, db)
    family = turn.family(rows[0])
    session = family.session
    if family.status == "opted_out":
        return "opted_out"
    if paused and session.paused_until == INDEFINITE:
        return "already_paused"
    if not paused and not session.paused_at(now):
        return "not_paused"
    changed = session.with_(paused_until=INDEFINITE if paused else None)
    turn.apply(family, changed, [PauseChanged(paused, None, reason)], now)
    turn.flush()
    return "done"
