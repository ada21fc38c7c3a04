"""One tick of the timers: every due lesson, check-in, nudge, follow-up and wait, a batch a turn.

Each batch is one transaction: claim the due timers (other workers skip them), load their
families, claim the daily deliveries that fire in one statement, step each family's timers in
order in one turn, plan the next daily timers, flush, commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from bot.catalog.render import Renderer
from bot.engine import Timeout, Trigger
from bot.engine.inputs import Input
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.timers import plans
from bot.runtime.turn import Turn
from bot.scheduling.policy import Decision, Kind
from storage.queries import timers as timer_sql

TRIGGERS = {
    "lesson": "lesson_due",
    "checkin": "checkin_due",
    "nudge": "nudge_due",
    "followup": "followup_due",
}


@dataclass
class TickReport:
    fired: int = 0
    skipped: int = 0
    timeouts: int = 0
    escalated: int = 0  # alert notices sent to staff because nobody acknowledged in time
    outbox_ids: list[int] = field(default_factory=list)


class Due(NamedTuple):
    """One due timer of a family (a row of `timers`); a tuple: one is made for every family of a
    fan-out."""

    kind: str
    due_at: datetime
    local_date: date | None
    seq: int | None


class Tick:
    """Fires what is due at `now`; the families' clocks and the renderer serve every batch."""

    def __init__(self, ctx: Context, now: datetime) -> None:
        self.ctx, self.now = ctx, now
        self.clocks = Clocks(ctx.settings)
        self.renderer = Renderer()

    def run(self, batch: int = 500) -> TickReport:
        """Fire every due timer as of `now`, batch by batch; rows another worker holds are
        skipped."""
        report = TickReport()
        while True:
            with self.ctx.transaction() as db:
                rows = timer_sql.due_timers(db, self.now, batch)
                if not rows:
                    return report
                turn = Turn(self.ctx, db, self.clocks, self.renderer)
                moved = self._fire(turn, rows, report)
                turn.flush()
                report.outbox_ids += turn.writes.outbox_ids
            if moved == 0:
                return report  # only timers that must wait remain due

    def _fire(self, turn: Turn, rows: Sequence[Any], report: TickReport) -> int:
        """Step every family's due timers in order; how many timers moved (not left to wait)."""
        families: dict[int, Family] = {}
        dues: dict[int, list[Due]] = {}
        for kind, due_at, local_date, seq, *values in rows:
            family_id = values[0]
            if family_id not in families:
                families[family_id] = turn.family(values)
                dues[family_id] = []
            dues[family_id].append(Due(kind, due_at, local_date, seq))
        decisions = {
            (family_id, due.kind): self._decide(families[family_id], due)
            for family_id, family_dues in dues.items()
            for due in family_dues
            if due.kind in plans.DAILY
        }
        # The daily messages that fire claim their local day in one statement; a day already
        # claimed (by another worker, or a lesson asked for earlier) is skipped.
        firing = [
            (family_id, due.kind, due.local_date)
            for family_id, family_dues in dues.items()
            for due in family_dues
            if due.local_date and decisions.get((family_id, due.kind)) == "fire"
        ]
        writes = turn.writes
        writes.reserved = timer_sql.claim_deliveries(turn.db, firing, self.now)
        writes.claimed.update(firing)
        moved = 0
        for family_id, family_dues in dues.items():
            family = families[family_id]
            for due in family_dues:
                decision = decisions.get((family_id, due.kind))
                family, fired = self._one(turn, family, due, decision, report)
                moved += fired
        return moved

    def _decide(self, family: Family, due: Due) -> Decision | None:
        """Whether a due daily timer fires, waits or is skipped; None when the family has no time
        set for it."""
        if plans.daily_time(family, due.kind) is None or due.local_date is None:
            return None
        return family.clock.decide(cast(Kind, due.kind), due.local_date, due.due_at, self.now)

    def _one(
        self,
        turn: Turn,
        family: Family,
        due: Due,
        decision: Decision | None,
        report: TickReport,
    ) -> tuple[Family, int]:
        """One due timer: the family after it, and 1 if it moved (0: it waits, still due)."""
        writes, key = turn.writes, (family.id, due.kind)
        if due.kind not in plans.DAILY:  # a wait or a follow-up: it fires once, whatever happens
            writes.timers[key] = None
            if due.kind == "wait":
                report.timeouts += 1
                return self._step(turn, family, Timeout(due.seq or 0)), 1
            if family.status != "opted_out":
                return self._step(turn, family, Trigger(TRIGGERS[due.kind])), 1
            return family, 1
        if decision is None:  # no time set for it any more
            writes.timers[key] = None
            return family, 1
        if decision == "wait":
            return family, 0
        day = due.local_date
        claim = (family.id, due.kind, day)
        if decision == "fire" and claim in writes.reserved:
            writes.reserved.discard(claim)
            report.fired += 1
            family = self._step(turn, family, Trigger(TRIGGERS[due.kind]))
        else:
            report.skipped += 1
        writes.timers[key] = plans.next_daily(family, due.kind, self.now, day)
        return family, 1

    def _step(self, turn: Turn, family: Family, input_: Input) -> Family:
        return turn.step(family, input_, self.now)[0]
