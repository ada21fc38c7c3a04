"""The outbox dispatcher: claim committed rows, send them through the channel adapters, record outcomes.

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or a write-locking transaction (SQLite),
so two workers never take the same row. A row whose worker died mid-send is claimed again when its
lease runs out: the only way a message can go twice, counted as `reclaimed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select

from bot.channels.base import Channel, OutboundMessage, SendOutcome, SendResult
from bot.runtime.context import Context
from bot.runtime.effects import opt_out
from bot.runtime.family_clock import quiet_of, zone_of
from bot.runtime.pacing import Pace
from bot.scheduling.clock import in_quiet_hours, next_allowed
from bot.web.unsubscribe import unsubscribe_url
from storage import models as m

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)
MAX_BACKOFF_S = 3600.0
CLAIM_AHEAD_S = 10.0  # a paced channel claims about this many seconds of sending at a time
MISCONFIGURED_PAUSE = timedelta(minutes=5)
FINAL = {SendOutcome.SENT: "sent", SendOutcome.OPTED_OUT: "opted_out", SendOutcome.INVALID_ADDRESS: "invalid"}


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
    def __init__(self, ctx: Context, channels: Mapping[str, Channel], paces: Mapping[str, Pace] | None = None,
                 concurrency: int = 64) -> None:
        self.ctx, self.channels = ctx, dict(channels)
        self.paces = dict(paces or {})
        self.concurrency = concurrency
        self.down_until: dict[str, datetime] = {}

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff (AWS architecture blog), never sooner than the provider asked."""
        ceiling = min(MAX_BACKOFF_S, 2.0 * (2 ** max(0, attempts - 1)))
        return max(retry_after or 0.0, self.ctx.rng.uniform(0, ceiling))

    # --- claiming (sync, in a worker thread) ---------------------------------------------------
    def claim(self, now: datetime, limit: int, ids: Iterable[int] | None = None, report: DispatchReport | None = None) -> list[OutboundMessage]:
        report = report or DispatchReport()
        usable = [c for c in self.channels if self.down_until.get(c, now) <= now]
        if not usable:
            return []
        with self.ctx.db.begin() as db:
            query = (select(m.OutboundMessage)
                     .where(m.OutboundMessage.channel.in_(usable),
                            or_(m.OutboundMessage.status == "queued",
                                (m.OutboundMessage.status == "sending") & (m.OutboundMessage.claimed_until < now)),
                            m.OutboundMessage.not_before <= now)
                     .order_by(case((m.OutboundMessage.kind == "crisis", 0), else_=1), m.OutboundMessage.id)
                     .limit(limit).with_for_update(skip_locked=True))
            if ids is not None:
                query = query.where(m.OutboundMessage.id.in_(list(ids)))
            rows = list(db.scalars(query))
            contacts = {c.id: c for c in db.scalars(select(m.Contact).where(m.Contact.id.in_({r.contact_id for r in rows if r.contact_id})))}
            claimed = []
            taken: dict[str, int] = {}
            for row in rows:
                if row.kind != "crisis":
                    # Claim only what a paced channel can send soon, so a crisis or a reply written
                    # later never waits behind a long claimed batch (SMS at 1/s: 10 rows, not 1,000).
                    pace = self.paces.get(row.channel)
                    if pace and pace.rate and taken.get(row.channel, 0) >= max(1, int(pace.rate * CLAIM_AHEAD_S)):
                        continue
                    taken[row.channel] = taken.get(row.channel, 0) + 1
                contact = contacts.get(row.contact_id) if row.contact_id else None
                if contact is not None and contact.status == "opted_out" and row.kind == "normal":
                    row.status = "suppressed"
                    report.suppressed += 1
                    continue
                if contact is not None and row.kind != "crisis":
                    zone, quiet = zone_of(contact, self.ctx.settings), quiet_of(contact, self.ctx.settings)
                    if in_quiet_hours(now, zone, quiet):
                        row.not_before = next_allowed(now, zone, quiet)
                        report.held += 1
                        continue
                if row.status == "sending":
                    report.reclaimed += 1
                row.status, row.claimed_until, row.attempts = "sending", now + LEASE, row.attempts + 1
                claimed.append(OutboundMessage(row.id, row.channel, row.address, row.text, row.subject,  # type: ignore[arg-type]
                                               self._unsubscribe_url(row), row.kind == "crisis"))
            return claimed

    def _unsubscribe_url(self, row: m.OutboundMessage) -> str | None:
        if row.channel != "email" or row.contact_id is None:
            return None
        return unsubscribe_url(self.ctx.settings, row.contact_id)

    # --- recording (sync, in a worker thread) --------------------------------------------------
    def record(self, results: list[tuple[OutboundMessage, SendResult]], now: datetime, report: DispatchReport) -> None:
        with self.ctx.db.begin() as db:
            ids = [message.id for message, _ in results]
            rows = {r.id: r for r in db.scalars(select(m.OutboundMessage).where(m.OutboundMessage.id.in_(ids)))}
            for message, result in results:
                report.outcomes[result.outcome.value] = report.outcomes.get(result.outcome.value, 0) + 1
                row = rows.get(message.id)
                if row is None:
                    continue
                if result.outcome in FINAL:
                    row.status = FINAL[result.outcome]
                    row.provider_id = result.provider_id or row.provider_id
                    row.sent_at = now if result.outcome == SendOutcome.SENT else row.sent_at
                    row.last_error = None if result.outcome == SendOutcome.SENT else result.detail[:500]
                    report.sent += result.outcome == SendOutcome.SENT
                    report.failed += result.outcome != SendOutcome.SENT
                    if result.outcome == SendOutcome.OPTED_OUT and row.contact_id:
                        opt_out(db, row.contact_id, row.channel, "provider", f"provider refused delivery: {result.detail}", now)
                    continue
                row.status = "queued"
                row.claimed_until = None
                row.last_error = f"{result.outcome.value}: {result.detail}"[:500]
                if result.outcome == SendOutcome.MISCONFIGURED:
                    row.attempts -= 1  # not the message's fault: don't burn its retries
                    self.down_until[message.channel] = now + MISCONFIGURED_PAUSE
                    log.error("channel %s is misconfigured (%s): paused for %s; fix its credentials",
                              message.channel, result.detail, MISCONFIGURED_PAUSE)
                else:
                    row.not_before = now + timedelta(seconds=self.backoff(row.attempts, result.retry_after_s))
                    report.retried += 1

    # --- sending -------------------------------------------------------------------------------
    async def dispatch(self, now: datetime | None = None, limit: int = 1000, ids: Iterable[int] | None = None) -> DispatchReport:
        """Send what is due (or just `ids`), up to `limit` rows; call again while there is more."""
        now = now or self.ctx.clock()
        report = DispatchReport()
        batch = await asyncio.to_thread(self.claim, now, limit, ids, report)
        if not batch:
            return report
        results = await self.send_all(batch)
        await asyncio.to_thread(self.record, results, self.ctx.clock(), report)
        return report

    async def send_all(self, batch: list[OutboundMessage]) -> list[tuple[OutboundMessage, SendResult]]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(message: OutboundMessage) -> tuple[OutboundMessage, SendResult]:
            pace = self.paces.get(message.channel)
            if pace and not message.crisis:
                await pace.wait_turn(message.address)
            async with limit:
                try:
                    return message, await self.channels[message.channel].send(message)
                except Exception as exc:  # an adapter bug must not lose the row: retry it later
                    log.exception("channel %s raised while sending outbox row %s", message.channel, message.id)
                    return message, SendResult(SendOutcome.RETRY, detail=f"{type(exc).__name__}: {exc}")

        async def in_order(messages: list[OutboundMessage]) -> list[tuple[OutboundMessage, SendResult]]:
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
            if not (report.sent or report.failed or report.retried or report.suppressed or report.held):
                return total

    def pending(self) -> int:
        with self.ctx.db() as db:
            return len(db.execute(select(m.OutboundMessage.id).where(m.OutboundMessage.status.in_(("queued", "sending")))).all())

