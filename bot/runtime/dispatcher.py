"""The outbox dispatcher: claim committed rows, send them through the channel adapters, record outcomes.

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or a write-locking transaction (SQLite),
so two workers never take the same row. A row whose worker died mid-send is claimed again when its
lease runs out: the only way a message can go twice, counted as `reclaimed`. On SQLite the web
process waits for the one write lock, so the worker's transactions stay short: the due rows are
found in a lock-free snapshot and only claimed (every condition checked again) under the lock, and
outcomes are written at most RECORD_EVERY rows a transaction, after the batch is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    bindparam,
    case,
    create_engine,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.pool import NullPool

from bot.channels.base import Channel, OutboundMessage, SendOutcome, SendResult
from bot.runtime.context import Context
from bot.runtime.effects import opt_out
from bot.runtime.family_clock import quiet_of, zone_of
from bot.runtime.pacing import Pace
from bot.scheduling.clock import in_quiet_hours, next_allowed
from bot.web.unsubscribe import unsubscribe_url
from storage import models as m
from storage.db import SQLITE_BUSY_TIMEOUT_MS, is_sqlite

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)
MAX_BACKOFF_S = 3600.0
CLAIM_EVERY = 250  # rows claimed per transaction from a SQLite snapshot (~15 ms under the lock)
RECORD_EVERY = 250  # outcomes recorded per transaction (on SQLite each holds the write lock ~12 ms)
CLAIM_AHEAD_S = 10.0  # a paced channel claims about this many seconds of sending at a time
MISCONFIGURED_PAUSE = timedelta(minutes=5)
_OUTBOX: Table = m.OutboundMessage.__table__  # type: ignore[assignment]
_FIRST = (
    case((m.OutboundMessage.kind == "crisis", 0), else_=1),
    m.OutboundMessage.id,
)  # crisis rows first, then oldest
FINAL = {
    SendOutcome.SENT: "sent",
    SendOutcome.OPTED_OUT: "opted_out",
    SendOutcome.INVALID_ADDRESS: "invalid",
}


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # quiet hours moved it to the morning
    suppressed: int = 0  # the person opted out
    reclaimed: int = 0  # a lease ran out: possibly sent before (at-least-once)
    outcomes: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        channels: Mapping[str, Channel],
        paces: Mapping[str, Pace] | None = None,
        concurrency: int = 64,
    ) -> None:
        self.ctx, self.channels = ctx, dict(channels)
        self.paces = dict(paces or {})
        self.concurrency = concurrency
        self.down_until: dict[str, datetime] = {}

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff (AWS architecture blog), never sooner than the provider asked."""
        ceiling = min(MAX_BACKOFF_S, 2.0 * (2 ** max(0, attempts - 1)))
        return max(retry_after or 0.0, self.ctx.rng.uniform(0, ceiling))

    # --- claiming (sync, in a worker thread) ---------------------------------------------------
    # Claim and record read and write columns with Core statements, never ORM objects: on SQLite
    # every transaction holds the one write lock (BEGIN IMMEDIATE), and a crisis reply from the web
    # process waits for it, so these transactions must be short (docs/performance.md).
    def claim(
        self,
        now: datetime,
        limit: int,
        ids: Iterable[int] | None = None,
        report: DispatchReport | None = None,
    ) -> list[OutboundMessage]:
        report = report or DispatchReport()
        usable = [c for c in self.channels if self.down_until.get(c, now) <= now]
        if not usable:
            return []
        o = m.OutboundMessage
        if ids is not None or (reader := self._snapshot_reader) is None:
            return self._claim(now, limit, ids, usable, report, {})
        # SQLite: finding the due rows scans the whole backlog (100 ms at 100,000) and needs no lock:
        # read the candidates, in order, from a snapshot; then claim them by id under the write lock,
        # where every condition is checked again, CLAIM_EVERY at a time so no transaction is long.
        with reader.connect() as conn:
            candidates = list(
                conn.scalars(
                    select(o.id).where(*self._due(now, usable)).order_by(*_FIRST).limit(limit)
                )
            )
        claimed: list[OutboundMessage] = []
        taken: dict[str, int] = {}
        for start in range(0, len(candidates), CLAIM_EVERY):
            part = candidates[start : start + CLAIM_EVERY]
            claimed += self._claim(now, len(part), part, usable, report, taken)
        return claimed

    def _claim(
        self,
        now: datetime,
        limit: int,
        ids: Iterable[int] | None,
        usable: list[str],
        report: DispatchReport,
        taken: dict[str, int],
    ) -> list[OutboundMessage]:
        """One claiming transaction: due rows (of `ids`, if given) on the `usable` channels marked
        sending; `taken` counts per paced channel."""
        o, c = m.OutboundMessage, m.Contact
        due = self._due(now, usable)
        with self.ctx.db.begin() as db:
            query = (
                select(
                    o.id, o.channel, o.address, o.text, o.subject, o.kind, o.status, o.contact_id
                )
                .where(*due)
                .order_by(*_FIRST)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if ids is not None:
                query = query.where(o.id.in_(list(ids)))
            rows = db.execute(query).all()
            wanted = {r[7] for r in rows if r[7]}
            # (status, timezone, quiet_start, quiet_end) by contact id; rows are unpacked as tuples
            # because a Row's attribute access costs about 1 us, and this loop runs under the lock.
            contacts = (
                {
                    cid: rest
                    for cid, *rest in db.execute(
                        select(c.id, c.status, c.timezone, c.quiet_start, c.quiet_end).where(
                            c.id.in_(wanted)
                        )
                    )
                }
                if wanted
                else {}
            )
            quiet_until: dict[tuple[str | None, str | None, str | None], datetime | None] = {}
            claimed: list[OutboundMessage] = []
            claimed_ids: list[int] = []
            suppressed: list[int] = []
            held: list[dict[str, object]] = []
            for row_id, channel, address, text, subject, kind, status, contact_id in rows:
                if kind != "crisis":
                    # Claim only what a paced channel can send soon, so a crisis or a reply written
                    # later never waits behind a long claimed batch (SMS at 1/s: 10 rows, not 1,000).
                    pace = self.paces.get(channel)
                    if (
                        pace
                        and pace.rate
                        and taken.get(channel, 0) >= max(1, int(pace.rate * CLAIM_AHEAD_S))
                    ):
                        continue
                    taken[channel] = taken.get(channel, 0) + 1
                contact = contacts.get(contact_id) if contact_id else None
                if contact is not None and contact[0] == "opted_out" and kind == "normal":
                    suppressed.append(row_id)
                    continue
                if contact is not None and kind != "crisis":
                    key = (contact[1], contact[2], contact[3])
                    if key not in quiet_until:
                        quiet_until[key] = self._quiet_until(now, *key)
                    if (until := quiet_until[key]) is not None:
                        held.append({"row_id": row_id, "until": until})
                        continue
                if status == "sending":
                    report.reclaimed += 1
                claimed_ids.append(row_id)
                claimed.append(
                    OutboundMessage(
                        row_id,
                        channel,  # type: ignore[arg-type]
                        address,
                        text,
                        subject,
                        self._unsubscribe_url(channel, contact_id),
                        kind == "crisis",
                    )
                )
            table = _OUTBOX
            if suppressed:
                db.execute(
                    update(table).where(table.c.id.in_(suppressed)).values(status="suppressed")
                )
                report.suppressed += len(suppressed)
            if held:
                db.execute(
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(not_before=bindparam("until")),
                    held,
                )
                report.held += len(held)
            if claimed_ids:
                db.execute(
                    update(table)
                    .where(table.c.id.in_(claimed_ids))
                    .values(
                        status="sending", claimed_until=now + LEASE, attempts=table.c.attempts + 1
                    )
                )
            return claimed

    @staticmethod
    def _due(now: datetime, channels: list[str]) -> tuple[ColumnElement[bool], ...]:
        o = m.OutboundMessage
        return (
            o.channel.in_(channels),
            or_(o.status == "queued", (o.status == "sending") & (o.claimed_until < now)),
            o.not_before <= now,
        )

    @cached_property
    def _snapshot_reader(self) -> Engine | None:
        """An engine whose reads take no lock, for a SQLite file; None elsewhere (PostgreSQL claims
        with SKIP LOCKED and never blocks the web process)."""
        bind = self.ctx.db.kw.get("bind")
        if not (
            isinstance(bind, Engine)
            and is_sqlite(bind)
            and bind.url.database not in (None, "", ":memory:")
        ):
            return None
        # pysqlite begins no transaction for a SELECT, and WAL gives each read a snapshot;
        # NullPool: no connection outlives the read.
        return create_engine(
            bind.url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )

    def _quiet_until(
        self, now: datetime, timezone: str | None, quiet_start: str | None, quiet_end: str | None
    ) -> datetime | None:
        """When quiet hours end for a family with these settings, or None when they are awake now."""
        family = m.Contact(
            timezone=timezone, quiet_start=quiet_start, quiet_end=quiet_end
        )  # never added to a session
        zone, quiet = zone_of(family, self.ctx.settings), quiet_of(family, self.ctx.settings)
        return next_allowed(now, zone, quiet) if in_quiet_hours(now, zone, quiet) else None

    def _unsubscribe_url(self, channel: str, contact_id: int | None) -> str | None:
        if channel != "email" or contact_id is None:
            return None
        return unsubscribe_url(self.ctx.settings, contact_id)

    # --- recording (sync, in a worker thread) --------------------------------------------------
    def record(
        self,
        results: list[tuple[OutboundMessage, SendResult]],
        now: datetime,
        report: DispatchReport,
    ) -> None:
        o = m.OutboundMessage
        table = _OUTBOX
        with self.ctx.db.begin() as db:
            ids = [message.id for message, _ in results]
            rows = {
                rid: (attempts, cid)
                for rid, attempts, cid in db.execute(
                    select(o.id, o.attempts, o.contact_id).where(o.id.in_(ids))
                )
            }
            sent: list[dict[str, object]] = []
            final: list[dict[str, object]] = []
            requeued: list[dict[str, object]] = []
            opted_out: list[tuple[int, str, str]] = []
            for message, result in results:
                report.outcomes[result.outcome.value] = (
                    report.outcomes.get(result.outcome.value, 0) + 1
                )
                row = rows.get(message.id)
                if row is None:
                    continue
                attempts, contact_id = row
                if result.outcome == SendOutcome.SENT:
                    sent.append({"row_id": message.id, "provider_id": result.provider_id})
                    report.sent += 1
                    continue
                if result.outcome in FINAL:
                    final.append(
                        {
                            "row_id": message.id,
                            "status": FINAL[result.outcome],
                            "provider_id": result.provider_id,
                            "error": result.detail[:500],
                        }
                    )
                    report.failed += 1
                    if result.outcome == SendOutcome.OPTED_OUT and contact_id:
                        opted_out.append((contact_id, message.channel, result.detail))
                    continue
                error = f"{result.outcome.value}: {result.detail}"[:500]
                if result.outcome == SendOutcome.MISCONFIGURED:
                    # not the message's fault: don't burn its retries
                    requeued.append(
                        {
                            "row_id": message.id,
                            "error": error,
                            "attempts": attempts - 1,
                            "not_before": None,
                        }
                    )
                    self.down_until[message.channel] = now + MISCONFIGURED_PAUSE
                    log.error(
                        "channel %s is misconfigured (%s): paused for %s; fix its credentials",
                        message.channel,
                        result.detail,
                        MISCONFIGURED_PAUSE,
                    )
                else:
                    later = now + timedelta(seconds=self.backoff(attempts, result.retry_after_s))
                    requeued.append(
                        {
                            "row_id": message.id,
                            "error": error,
                            "attempts": attempts,
                            "not_before": later,
                        }
                    )
                    report.retried += 1
            by_id = table.c.id == bindparam("row_id")
            keep_id: ColumnElement[str | None] = func.coalesce(
                bindparam("provider_id"), table.c.provider_id
            )
            if sent:
                db.execute(
                    update(table)
                    .where(by_id)
                    .values(status="sent", provider_id=keep_id, sent_at=now, last_error=None),
                    sent,
                )
            if final:
                db.execute(
                    update(table)
                    .where(by_id)
                    .values(
                        status=bindparam("status"),
                        provider_id=keep_id,
                        last_error=bindparam("error"),
                    ),
                    final,
                )
            if requeued:
                db.execute(
                    update(table)
                    .where(by_id)
                    .values(
                        status="queued",
                        claimed_until=None,
                        last_error=bindparam("error"),
                        attempts=bindparam("attempts"),
                        not_before=func.coalesce(
                            bindparam("not_before", type_=table.c.not_before.type),
                            table.c.not_before,
                        ),
                    ),
                    requeued,
                )
            # Last, so that cancelling an opted-out family's queued messages also catches this batch's retries.
            for contact_id, channel, detail in opted_out:
                opt_out(
                    db, contact_id, channel, "provider", f"provider refused delivery: {detail}", now
                )

    # --- sending -------------------------------------------------------------------------------
    async def dispatch(
        self, now: datetime | None = None, limit: int = 1000, ids: Iterable[int] | None = None
    ) -> DispatchReport:
        """Send what is due (or just `ids`), up to `limit` rows; call again while there is more."""
        now = now or self.ctx.clock()
        report = DispatchReport()
        batch = await asyncio.to_thread(self.claim, now, limit, ids, report)
        if not batch:
            return report
        results = await self.send_all(batch)
        # Recorded once the batch is sent, in pieces: a transaction's thread that competed for the GIL
        # with a busy event loop held SQLite's write lock for ~500 ms instead of ~12 (measured).
        for start in range(0, len(results), RECORD_EVERY):
            await asyncio.to_thread(
                self.record, results[start : start + RECORD_EVERY], self.ctx.clock(), report
            )
        return report

    async def send_all(
        self, batch: list[OutboundMessage]
    ) -> list[tuple[OutboundMessage, SendResult]]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(message: OutboundMessage) -> tuple[OutboundMessage, SendResult]:
            pace = self.paces.get(message.channel)
            if pace and not message.crisis:
                await pace.wait_turn(message.address)
            async with limit:
                try:
                    return message, await self.channels[message.channel].send(message)
                except Exception as exc:  # an adapter bug must not lose the row: retry it later
                    log.exception(
                        "channel %s raised while sending outbox row %s", message.channel, message.id
                    )
                    return message, SendResult(
                        SendOutcome.RETRY, detail=f"{type(exc).__name__}: {exc}"
                    )

        async def in_order(
            messages: list[OutboundMessage],
        ) -> list[tuple[OutboundMessage, SendResult]]:
            return [await one(m_) for m_ in messages]  # one person's messages arrive as written

        def by_address(messages: list[OutboundMessage]) -> list[list[OutboundMessage]]:
            groups: dict[tuple[str, str], list[OutboundMessage]] = {}
            for m_ in messages:
                groups.setdefault((m_.channel, m_.address), []).append(m_)
            return list(groups.values())

        results: list[tuple[OutboundMessage, SendResult]] = []
        for lane in ([m_ for m_ in batch if m_.crisis], [m_ for m_ in batch if not m_.crisis]):
            for sent in await asyncio.gather(*(in_order(g) for g in by_address(lane))):
                results += sent
        return results

    async def drain(self, now: datetime | None = None, limit: int = 1000) -> DispatchReport:
        """Dispatch until nothing more is due now (for ticks and tests)."""
        total = DispatchReport()
        while True:
            report = await self.dispatch(now, limit)
            for name in ("sent", "retried", "failed", "held", "suppressed", "reclaimed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            for k, v in report.outcomes.items():
                total.outcomes[k] = total.outcomes.get(k, 0) + v
            if not (
                report.sent or report.failed or report.retried or report.suppressed or report.held
            ):
                return total

    def pending(self) -> int:
        with self.ctx.db() as db:
            return len(
                db.execute(
                    select(m.OutboundMessage.id).where(
                        m.OutboundMessage.status.in_(("queued", "sending"))
                    )
                ).all()
            )
