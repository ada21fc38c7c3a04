"""One tick of the timers: every due lesson, check-in, nudge, follow-up and wait, a batch a turn.

Each batch is one transaction: claim the due timers (other workers skip them), load their
families, claim the daily deliveries that fire in one statement, step each family's timers in
order in one turn, plan the next daily timers, flush, commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.catalog.render import Renderer
from bot.engine import Timeout, Trigger
from bot.engine.inputs import Input
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.timers import plans
from bot.runtime.turn import Turn
from bot.scheduling.policy import Decision
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
    outbox_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Due:
    """One due timer of a family (a row of `timers`)."""

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
        """Fire every due timer as of `now`, batch by batch; rows another worker holds are skipped."""
        report = TickReport()
        while True:
            with self.ctx.db.begin() as db:
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
        verdicts = {
            (family_id, due.kind): self._verdict(families[family_id], due)
            for family_id, family_dues in dues.items()
            for due in family_dues
            if due.kind in plans.DAILY
        }
        # The daily messages that fire claim their local day in one statement; a day already
        # claimed (by another worker, or a lesson asked for earlier) is skipped.
        firing = [
            (family_id, kind, dues_day)
            for (family_id, kind), (verdict, dues_day) in verdicts.items()
            if verdict == "fire" and dues_day is not None
        ]
        writes = turn.writes
        writes.reserved = timer_sql.claim_deliveries(turn.db, firing, self.now)
        writes.claimed.update(firing)
        moved = 0
        for family_id, family_dues in dues.items():
            family = families[family_id]
            for due in family_dues:
                verdict = verdicts.get((family_id, due.kind))
                family, fired = self._one(turn, family, due, verdict, report)
                moved += fired
        return moved

    def _verdict(self, family: Family, due: Due) -> tuple[Decision | None, date | None]:
        """decide() for a due daily timer; None when the family has no time set for it."""
        if plans.daily_time(family, due.kind) is None or due.local_date is None:
            return None, None
        return (
            family.clock.decide(due.kind, due.local_date, due.due_at, self.now),  # type: ignore[arg-type]
            due.local_date,
        )

    def _one(
        self,
        turn: Turn,
        family: Family,
        due: Due,
        verdict: tuple[Decision | None, date | None] | None,
        report: TickReport,
    ) -> tuple[Family, int]:
        """One due timer: the family after it, and 1 if it moved (0: it waits, still due)."""
        writes, key = turn.writes, (family.id, due.kind)
        if verdict is None:  # a wait or a follow-up: it fires once, whatever happens
            writes.timers[key] = None
            if due.kind == "wait":
                report.timeouts += 1
                return self._step(turn, family, Timeout(due.seq or 0)), 1
            if family.status != "opted_out":
                return self._step(turn, family, Trigger(TRIGGERS[due.kind])), 1
            return family, 1
        decision, day = verdict
        if decision is None:  # no time set for it any more
            writes.timers[key] = None
            return family, 1
        if decision == "wait":
            return family, 0
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
