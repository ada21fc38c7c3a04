"""One tick of the timers: every due lesson, check-in, nudge, follow-up and wait, fired in batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, select, tuple_
from sqlalchemy.orm import Session as DB

from bot.catalog.render import Renderer
from bot.engine import Timeout, Trigger, step
from bot.engine.session import Session
from bot.program_files import Loaded
from bot.runtime import schedule
from bot.runtime.effects import Applied, apply_events
from bot.runtime.family_clock import parse_hhmm, quiet_of, zone_of
from bot.runtime.fast_tick import DueRow, FastWrites, due_rows, fast_effects
from bot.runtime.many import Many
from bot.scheduling.clock import QuietHours, next_allowed
from bot.scheduling.policy import Slot, decide, next_slot
from bot.settings import Settings
from storage import models as m
from storage.upsert import dialect_insert

if TYPE_CHECKING:
    from bot.runtime.runtime import Runtime

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
    fast: int = 0  # of `fired`, how many took the fast path (no ORM objects)
    outbox_ids: list[int] = field(default_factory=list)


class Tick:
    """Fires what is due at `now` for one runtime; the pure scheduling answers are memoised per tick."""

    def __init__(self, runtime: Runtime, now: datetime, fast: bool = True) -> None:
        self.runtime, self.ctx, self.now, self.fast = runtime, runtime.ctx, now, fast
        self.memo = _Memo(self.ctx.settings, now)

    def run(self, batch: int = 500) -> TickReport:
        """Fire every due timer as of `now`, batch by batch; rows another worker holds are skipped."""
        return self._run_fast(batch) if self.fast else self._run_orm(batch)

    def _run_orm(self, batch: int) -> TickReport:
        """Every timer through ORM objects and `apply_events` (the fast path's reference)."""
        now, report, memo = self.now, TickReport(), self.memo
        while True:
            with self.ctx.db.begin() as db:
                rows = db.execute(
                    select(m.Timer, m.Contact)
                    .join(m.Contact, m.Contact.id == m.Timer.contact_id)
                    .where(m.Timer.due_at <= now)
                    .order_by(m.Timer.due_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                ).all()
                if not rows:
                    return report
                applied = Applied()
                plans: list[dict[str, object]] = []
                alone = _contacts_seen_once(rows)
                self._claim_deliveries(db, rows, alone, memo, applied)
                moved = 0
                for timer, contact in rows:
                    moved += self._fire(
                        db,
                        timer,
                        contact,
                        now,
                        applied,
                        report,
                        memo,
                        plans if contact.id in alone else None,
                    )
                if plans:
                    schedule.schedule_many(db, plans)
                db.flush()
                report.outbox_ids += [o.id for o in applied.outbox]
            if moved == 0:
                return report  # only timers that must wait remain due

    def _run_fast(self, batch: int) -> TickReport:
        """The same as `_run_orm`, with a family's one due daily timer fired without ORM objects
        when its step only says, asks or is ignored (bot/runtime/fast_tick.py)."""
        now, report, memo = self.now, TickReport(), self.memo
        while True:
            with self.ctx.db.begin() as db:
                rows: Sequence[DueRow] = db.execute(due_rows(now, batch)).all()
                if not rows:
                    return report
                applied, writes = Applied(), FastWrites(many=memo.many)
                plans: list[dict[str, object]] = []
                alone = _contacts_seen_once([(r, r) for r in rows])
                verdicts = [
                    memo.verdict(r, r) if r.id in alone and r.kind in schedule.DAILY else None
                    for r in rows
                ]
                self._claim(
                    db,
                    [
                        (r.id, r.kind, r.local_date)
                        for r, v in zip(rows, verdicts, strict=True)
                        if v == "fire"
                    ],
                    applied,
                )
                # None: the row takes the general path (several timers, not daily, no time set)
                verdicts = [
                    v if v is not None and schedule.daily_time(r, r.kind) else None
                    for r, v in zip(rows, verdicts, strict=True)
                ]
                orm = _load(
                    db,
                    [
                        (r.contact_id, r.kind)
                        for r, v in zip(rows, verdicts, strict=True)
                        if v is None
                    ],
                )
                moved = 0
                for row, verdict in zip(rows, verdicts, strict=True):
                    if verdict is not None:
                        moved += self._fire_fast(db, row, verdict, applied, report, plans, writes)
                    else:
                        writes.flush_outbox(db)
                        moved += self._fire(
                            db,
                            *orm[row.contact_id, row.kind],
                            now,
                            applied,
                            report,
                            memo,
                            plans if row.id in alone else None,
                        )
                writes.flush(db)
                memo.many.execute(db, "timers", lambda: schedule.timers_upsert(db), plans)
                db.flush()
                # ids are given in processing order, as when every row went through the ORM
                report.outbox_ids += sorted(writes.outbox_ids + [o.id for o in applied.outbox])
            if moved == 0:
                return report  # only timers that must wait remain due

    def _fire_fast(
        self,
        db: DB,
        row: DueRow,
        verdict: str,
        applied: Applied,
        report: TickReport,
        plans: list[dict[str, object]],
        writes: FastWrites,
    ) -> int:
        """`_fire` for a contact's only due timer in the batch, a daily one the family has a time for."""
        memo, now, kind = self.memo, self.now, row.kind
        if verdict == "wait":
            return 0
        local: date = row.local_date
        if verdict == "fire" and (row.id, kind, local) in applied.claimed:
            report.fired += 1
            loaded = self.ctx.program.current
            session, events = step(
                loaded.program, Session.from_json(row.session), Trigger(TRIGGERS[kind]), now
            )
            zone = memo.zone(row)
            if fast_effects(
                self.ctx,
                row,
                session,
                events,
                now,
                memo.held_until(row),
                memo.lesson_ids(loaded),
                memo.today(zone),
                applied,
                writes,
                memo.renderer,
            ):
                report.fast += 1
            else:
                writes.flush_outbox(db)
                _, contact = _load(db, [(row.contact_id, kind)])[row.contact_id, kind]
                apply_events(self.ctx, db, contact, session, events, now, applied)
        else:
            report.skipped += 1
        plans.append(memo.plan(row, kind, local))
        return 1

    def _claim_deliveries(
        self,
        db: DB,
        rows: Sequence[Row[m.Timer, m.Contact]],
        alone: set[int],
        memo: _Memo,
        applied: Applied,
    ) -> None:
        """Claim (contact, kind, local day) for every slot that fires, in one statement.

        Only for contacts with one timer in the batch: nothing else in the batch touches them, so
        claiming ahead of their turn changes nothing. The others claim in turn, as before.
        """
        self._claim(
            db,
            [
                (contact.id, timer.kind, timer.local_date)
                for timer, contact in rows
                if contact.id in alone
                and timer.kind in schedule.DAILY
                and memo.verdict(timer, contact) == "fire"
            ],
            applied,
        )

    def _claim(self, db: DB, keys: list[tuple[int, str, date | None]], applied: Applied) -> None:
        """Insert these (contact, kind, local day) deliveries; those that went in are ours to send."""
        if not keys:
            return
        wanted = [
            {"contact_id": cid, "kind": kind, "local_date": local, "at": self.now}
            for cid, kind, local in keys
        ]
        table: Table = m.Delivery.__table__  # type: ignore[assignment]
        stmt = dialect_insert(db, table).on_conflict_do_nothing()
        if self.fast and self.memo.many.insert_all(db, "claims", lambda: stmt, wanted):
            applied.claimed.update(
                (cid, kind, local) for cid, kind, local in keys if local is not None
            )  # all ours
            return
        got = db.execute(
            stmt.returning(table.c.contact_id, table.c.kind, table.c.local_date), wanted
        ).all()
        applied.claimed.update((r.contact_id, r.kind, r.local_date) for r in got)

    def _fire(
        self,
        db: DB,
        timer: m.Timer,
        contact: m.Contact,
        now: datetime,
        applied: Applied,
        report: TickReport,
        memo: _Memo,
        plans: list[dict[str, object]] | None,
    ) -> int:
        """One due timer. `plans` collects the next daily timer for a batched write (None: write now)."""
        kind = timer.kind
        if kind in ("wait", "followup"):
            db.delete(timer)
            if kind == "wait":
                report.timeouts += 1
                self.runtime._step(db, contact, Timeout(timer.seq or 0), now, applied)
            elif contact.status != "opted_out":
                self.runtime._step(db, contact, Trigger(TRIGGERS[kind]), now, applied)
            return 1
        verdict = memo.verdict(timer, contact)
        if verdict is None:
            db.delete(timer)
            return 1
        if verdict == "wait":
            return 0
        local: date = timer.local_date  # type: ignore[assignment]
        if verdict == "fire" and self._claimed(
            db, contact, kind, local, now, applied, plans is not None
        ):
            report.fired += 1
            self.runtime._step(db, contact, Trigger(TRIGGERS[kind]), now, applied)
        else:
            report.skipped += 1
        if plans is None or not schedule.daily_time(contact, kind):
            schedule.plan_next(db, contact, kind, self.ctx.settings, now, local)
        else:
            plans.append(memo.plan(contact, kind, local))
        return 1

    def _claimed(
        self,
        db: DB,
        contact: m.Contact,
        kind: str,
        local: date,
        now: datetime,
        applied: Applied,
        ahead: bool,
    ) -> bool:
        """Whether this family's (kind, day) is ours to send: claimed ahead for the batch, or now."""
        key = (contact.id, kind, local)
        if ahead:
            return key in applied.claimed
        if schedule.record_delivery(db, contact, kind, self.ctx.settings, now, local):
            applied.claimed.add(key)
            return True
        return False


def _contacts_seen_once(rows: Sequence[tuple[Any, Any]]) -> set[int]:
    """Contacts with one due timer in the batch; `rows` are (timer, contact) pairs, or a due row twice."""
    counts = Counter(contact.id for _, contact in rows)
    return {cid for cid, n in counts.items() if n == 1}


def _load(db: DB, pairs: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[m.Timer, m.Contact]]:
    """ORM objects for the rows that take the general path, by (contact id, timer kind)."""
    if not pairs:
        return {}
    got = db.execute(
        select(m.Timer, m.Contact)
        .join(m.Contact, m.Contact.id == m.Timer.contact_id)
        .where(tuple_(m.Timer.contact_id, m.Timer.kind).in_(pairs))
    ).all()
    return {(t.contact_id, t.kind): (t, c) for t, c in got}


class _Memo:
    """Answers of pure scheduling functions for one tick, shared by families with the same clock.

    next_slot costs ~0.65 ms (it walks the zone's transitions); 100,000 families at 09:00 in a
    handful of zones need only a handful of answers.
    """

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings, self.now = settings, now
        self._zones: dict[str | None, ZoneInfo] = {}
        self._quiets: dict[tuple[str | None, str | None], QuietHours] = {}
        self._verdicts: dict[tuple[object, ...], str | None] = {}
        self._slots: dict[tuple[object, ...], Slot] = {}
        self._held: dict[tuple[str | None, ...], datetime] = {}
        self._today: dict[ZoneInfo, date] = {}
        self._lessons: tuple[Loaded, frozenset[str]] | None = None
        self.renderer = Renderer()
        self.many = Many()

    def held_until(self, contact: m.Contact) -> datetime:
        """When a message written now may go to this family: `now`, or when their quiet hours end."""
        key = (
            contact.timezone,
            contact.quiet_start,
            contact.quiet_end,
        )  # what zone() and quiet() read
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = next_allowed(self.now, self.zone(contact), self.quiet(contact))
        return held

    def today(self, zone: ZoneInfo) -> date:
        if zone not in self._today:
            self._today[zone] = self.now.astimezone(zone).date()
        return self._today[zone]

    def lesson_ids(self, loaded: Loaded) -> frozenset[str]:
        """The lesson and review ids of the program in use (a program reload brings new ones)."""
        if self._lessons is None or self._lessons[0] is not loaded:
            order = loaded.program.flows.order
            self._lessons = (loaded, frozenset(order.lessons) | frozenset(order.maintenance))
        return self._lessons[1]

    def zone(self, contact: m.Contact) -> ZoneInfo:
        key = contact.timezone
        if key not in self._zones:
            self._zones[key] = zone_of(contact, self.settings)
        return self._zones[key]

    def quiet(self, contact: m.Contact) -> QuietHours:
        key = (contact.quiet_start, contact.quiet_end)
        if key not in self._quiets:
            self._quiets[key] = quiet_of(contact, self.settings)
        return self._quiets[key]

    def verdict(self, timer: m.Timer, contact: m.Contact) -> str | None:
        """decide() for a due daily timer; None when the family has no time set for it."""
        if schedule.daily_time(contact, timer.kind) is None or timer.local_date is None:
            return None
        # keyed by what zone() and quiet() read, not their answers: cheaper to hash
        key = (
            timer.kind,
            timer.local_date,
            timer.due_at,
            contact.timezone,
            contact.quiet_start,
            contact.quiet_end,
        )
        verdict = self._verdicts.get(key)
        if verdict is None:
            slot = Slot(timer.kind, timer.local_date, timer.due_at)  # type: ignore[arg-type]
            verdict = self._verdicts[key] = decide(
                slot, self.now, self.zone(contact), self.quiet(contact)
            )
        return verdict

    def plan(self, contact: m.Contact, kind: str, after: date) -> dict[str, object]:
        """The timer row `schedule.plan_next` writes for a family whose `kind` time is set, with
        next_slot remembered for the tick (the same rules: schedule.plan_from, schedule.timer_row)."""
        at = schedule.daily_time(contact, kind)
        start = schedule.plan_from(kind, after)
        key = (kind, at, contact.timezone, contact.quiet_start, contact.quiet_end, start)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = next_slot(
                kind,  # type: ignore[arg-type]
                parse_hhmm(at),  # type: ignore[arg-type]
                self.zone(contact),
                self.quiet(contact),
                self.now,
                start,
            )
        return schedule.timer_row(contact.id, kind, slot.due_at, slot.local_date)
