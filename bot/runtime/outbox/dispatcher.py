"""The outbox dispatcher: claim committed rows, send them through the adapters, record outcomes.

Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or a write-locking transaction (SQLite),
so two workers never take the same row. A row whose worker died mid-send is claimed again when its
lease runs out: the only way a message can go twice, counted as `reclaimed`. Each outcome is
recorded as soon as it is known (bot/runtime/outbox/recorder.py), so a crash re-sends at most
what was in flight. On SQLite the web process waits for the one write lock, so the worker's
transactions stay short: the due rows are found in a lock-free snapshot and only claimed (every
condition checked again) under the lock. `stop()` (SIGTERM) sends nothing more: what is in flight
finishes and is recorded, the rest is given back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from bot.channels.base import Attachment, Channel, OutboundMessage, SendOutcome, SendResult
from bot.runtime import family_data, summary_picture
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox import outcomes
from bot.runtime.outbox.hours import held_until
from bot.runtime.outbox.last_look import NotSent, verdicts
from bot.runtime.outbox.outcomes import DispatchReport
from bot.runtime.outbox.pacing import Pace, slot_gap
from bot.runtime.outbox.recorder import RECORD_EVERY, LastLook, Outcome, Recorder
from bot.runtime.outbox.unsubscribe import footer_words, unsubscribe_url
from storage.db import DB, snapshot_reader
from storage.queries import families as family_sql
from storage.queries import outbox as outbox_sql

log = logging.getLogger(__name__)
LEASE_S = 120.0  # real seconds; on a moved clock (CLOCK_SPEED) the lease is scaled to match
MAX_BACKOFF_S = 3600.0
CLAIM_EVERY = 250  # rows claimed per transaction from a SQLite snapshot (~15 ms under the lock)
__all__ = ["RECORD_EVERY", "DispatchReport", "Dispatcher"]
CLAIM_AHEAD_S = 10.0  # a paced channel claims about this many seconds of sending at a time


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
        self.reply_window = timedelta(minutes=ctx.settings.reply_window_minutes)
        self.stopping = False
        self._busy = 0  # dispatch calls under way
        self._stop_signals: list[asyncio.Future[None]] = []  # one per send_all under way

    def stop(self) -> None:
        """Send nothing more (SIGTERM): sends in flight finish and are recorded, sends waiting
        for their pace stop waiting; `idle()` says when. Call it on the event loop that sends."""
        self.stopping = True
        for signal in self._stop_signals:
            if not signal.done():
                signal.set_result(None)

    async def idle(self) -> None:
        while self._busy:
            await asyncio.sleep(0.05)

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff (AWS architecture blog), never sooner than the provider
        asked."""
        ceiling = min(MAX_BACKOFF_S, 2.0 * (2 ** max(0, attempts - 1)))
        wait = max(retry_after or 0.0, self.ctx.rng.uniform(0, ceiling))
        return self.ctx.real_seconds(wait).total_seconds()  # in the clock's seconds

    # --- claiming (sync, in a worker thread) ---------------------------------------------------
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
        if ids is not None or (reader := self._snapshot_reader) is None:
            return self._claim(now, limit, ids, usable, report)
        # SQLite: finding the due rows scans the whole backlog (100 ms at 100,000) and needs no
        # lock: read the candidates, in order, from a snapshot; then claim them by id under the
        # write lock, where every condition is checked again, CLAIM_EVERY at a time so no
        # transaction is long.
        with reader.connect() as conn:
            candidates = outbox_sql.due_ids(conn, now, usable, limit)
        claimed: list[OutboundMessage] = []
        for start in range(0, len(candidates), CLAIM_EVERY):
            part = candidates[start : start + CLAIM_EVERY]
            claimed += self._claim(now, len(part), part, usable, report)
        return claimed

    def _claim(
        self,
        now: datetime,
        limit: int,
        ids: Iterable[int] | None,
        usable: list[str],
        report: DispatchReport,
    ) -> list[OutboundMessage]:
        """One claiming transaction: due rows (of `ids`, if given) on the `usable` channels marked
        sending."""
        clocks = Clocks(self.ctx.settings)
        with self.ctx.transaction() as db:
            rows = outbox_sql.claimable(db, now, usable, limit, ids)
            # Claim only what a paced channel can send soon, counting what every process has
            # claimed already, so a crisis or a reply written later never waits behind a long
            # claimed batch (SMS at 1/s: 10 rows, not 1,000), and a row is not claimed long
            # before quiet hours it is then sent in.
            most = {
                channel: max(1, int(CLAIM_AHEAD_S / slot_gap(pace.rate)))
                for channel, pace in self.paces.items()
                if pace.rate and channel in usable
            }
            taken = outbox_sql.claimed_ahead(db, now, list(most)) if most and rows else {}
            rows = self._within_pace(rows, most, taken)
            families = {
                values[0]: Family.from_row(values, clocks)
                for values in family_sql.families_by_id(db, (r[7] for r in rows if r[7]))
            }
            claimed: list[OutboundMessage] = []
            claimed_ids: list[int] = []
            suppressed: list[int] = []
            expired: list[int] = []
            held: list[dict[str, object]] = []
            footers: dict[str, str] = {}  # the unsubscribe line by locale, worded once
            # rows are unpacked as tuples because a Row's attribute access costs about 1 us, and
            # this loop runs under the lock
            for (
                row_id,
                channel,
                address,
                text,
                subject,
                kind,
                status,
                contact_id,
                in_reply_to,
                written,
                expires,
                media,
            ) in rows:
                family = families.get(contact_id) if contact_id else None
                if family is not None and family.status == "opted_out" and kind == "normal":
                    suppressed.append(row_id)
                    continue
                clock = family.clock if family else None
                until = held_until(kind, in_reply_to, written, clock, now, self.reply_window)
                if expires is not None and (until or now) >= expires:
                    expired.append(row_id)  # a lesson after its day is worth nothing
                    continue
                if until is not None:
                    held.append({"row_id": row_id, "until": until})
                    continue
                if status == "sending":
                    report.reclaimed += 1
                claimed_ids.append(row_id)
                link = self._unsubscribe_url(channel, contact_id, address)
                claimed.append(
                    OutboundMessage(
                        row_id,
                        channel,
                        address,
                        text,
                        subject,
                        link,
                        kind == "crisis",
                        to_staff=contact_id is None and kind == "crisis",
                        unsubscribe_words=self._footer(family, footers) if link else None,
                        media=media,
                    )
                )
            claimed = self._attach(db, claimed, now)
            outbox_sql.mark_suppressed(db, suppressed)
            report.suppressed += len(suppressed)
            outbox_sql.mark_expired(db, expired)
            report.expired += len(expired)
            outbox_sql.hold(db, held)
            report.held += len(held)
            outbox_sql.mark_sending(db, claimed_ids, now + self.ctx.real_seconds(LEASE_S))
            return claimed

    @staticmethod
    def _within_pace(
        rows: Sequence[Sequence[Any]], most: dict[str, int], taken: dict[str, int]
    ) -> list[Sequence[Any]]:
        """The rows to look at, in order: every crisis row, and of the rest only what a paced
        channel can still take (`most` less what is `taken`). Trimmed before the families are
        read, so a web process claiming a burst of SMS replies holds the write lock for the few
        rows it can send soon, not the whole burst."""
        kept: list[Sequence[Any]] = []
        for row in rows:
            channel, kind = row[1], row[5]
            if kind != "crisis" and channel in most:
                if taken.get(channel, 0) >= most[channel]:
                    continue
                taken[channel] = taken.get(channel, 0) + 1
            kept.append(row)
        return kept

    @staticmethod
    def _attach(db: DB, claimed: list[OutboundMessage], now: datetime) -> list[OutboundMessage]:
        """MYDATA by email: the family's data, as it is now, attached to the row that carries it."""
        emails = [m_.id for m_ in claimed if m_.channel == "email"]
        carrying = family_data.take_attachments(db, emails, now) if emails else {}
        if not carrying:
            return claimed
        out = []
        for message in claimed:
            contact_id = carrying.get(message.id)
            data = family_data.export_json(db, contact_id, now) if contact_id else None
            if data is not None:
                file = Attachment(family_data.FILE_NAME, family_data.MEDIA_TYPE, data)
                message = replace(message, attachment=file)
            out.append(message)
        return out

    @cached_property
    def _snapshot_reader(self) -> Engine | None:
        """An engine whose reads take no lock, for a SQLite file; None elsewhere (PostgreSQL claims
        with SKIP LOCKED and never blocks the web process)."""
        return snapshot_reader(self.ctx.engine)

    def _footer(self, family: Family | None, footers: dict[str, str]) -> str:
        """The line before the unsubscribe link, in the family's language."""
        locale = family.locale if family is not None else "en"
        if locale not in footers:
            catalogs = self.ctx.program.current.catalogs
            footers[locale] = footer_words(catalogs, locale, self.ctx.settings.org_placeholders())
        return footers[locale]

    def _unsubscribe_url(self, channel: str, contact_id: int | None, address: str) -> str | None:
        if channel != "email" or contact_id is None:
            return None
        return unsubscribe_url(self.ctx.settings, contact_id, address)

    def record(self, results: list[Outcome], now: datetime, report: DispatchReport) -> None:
        """Write the outcomes of sent rows (bot/runtime/outbox/outcomes.py)."""
        outcomes.record(self.ctx, results, now, report, self.backoff, self.down_until)

    def last_look(self, ids: list[int]) -> dict[int, NotSent | None]:
        """May these claimed rows still go, now (bot/runtime/outbox/last_look.py)? Read without
        the write lock."""
        reader = self._snapshot_reader
        if reader is not None:
            with reader.connect() as conn:
                rows = outbox_sql.last_look(conn, ids)
        else:
            with self.ctx.db() as db:
                rows = outbox_sql.last_look(db, ids)
        clocks = Clocks(self.ctx.settings)
        return verdicts(rows, ids, clocks, self.ctx.clock(), self.reply_window)

    # --- sending -------------------------------------------------------------------------------
    async def dispatch(
        self, now: datetime | None = None, limit: int = 1000, ids: Iterable[int] | None = None
    ) -> DispatchReport:
        """Send what is due (or just `ids`), up to `limit` rows; call again while there is more."""
        now = now or self.ctx.clock()
        report = DispatchReport()
        if self.stopping:
            return report
        self._busy += 1
        try:
            batch = await asyncio.to_thread(self.claim, now, limit, ids, report)
            if not batch:
                return report
            recorder = Recorder(lambda piece: self.record(piece, self.ctx.clock(), report))
            await self.send_all(batch, recorder.add, report)
            await recorder.flush()
            return report
        finally:
            self._busy -= 1

    async def send_all(
        self,
        batch: list[OutboundMessage],
        done: Callable[[OutboundMessage, SendResult | NotSent | None], None] | None = None,
        report: DispatchReport | None = None,
    ) -> list[Outcome]:
        """Send the batch; each outcome goes to `done` as soon as it is known (None: not sent,
        the worker is stopping; NotSent: the last look kept it back; a row cancelled since it
        was claimed gives nothing)."""
        limit = asyncio.Semaphore(self.concurrency)
        look = LastLook(self.last_look)
        report = report or DispatchReport()
        stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop_signals.append(stopped)

        async def turn(pace: Pace, address: str) -> float | None:
            """The pace's slot for `address`, or None: the worker stopped while it waited."""
            waiting = asyncio.ensure_future(pace.wait_turn(address))
            await asyncio.wait((waiting, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                return None
            return waiting.result()

        async def one(message: OutboundMessage) -> Outcome | None:
            # A family's crisis reply never waits for a pace; a notice to staff does (a burst of
            # alerts to one on-call number is still the channel's traffic), ahead of everyday
            # messages: its lane books its slots first.
            family_crisis = message.crisis and not message.to_staff
            pace = None if family_crisis else self.paces.get(message.channel)
            # A send holds its place in `limit` while it waits for its pace, so a slot is booked
            # only for a send that can use it at once (no burst of sends that waited for a place
            # after their slots).
            async with limit:
                while True:
                    if self.stopping:
                        return message, None
                    slot = await turn(pace, message.address) if pace else None
                    if self.stopping:  # stopped while it waited for its turn
                        return message, None
                    if not message.crisis:
                        # The last look, after every wait: a STOP or quiet hours that began
                        # while it waited keep it back.
                        kept = await look.ask(message.id)
                        if kept is not None and kept.why == "cancelled":
                            report.suppressed += 1
                            return None
                        if kept is not None:
                            return message, None if kept.why == "unknown" else kept
                    if slot is None or pace is None or pace.on_time(slot):
                        break
                    report.late_slots += 1  # woke too late for its slot: book another
                try:
                    if message.media and message.picture is None:
                        # the weekly summary's calendar: drawn now, off the event loop
                        picture = await asyncio.to_thread(summary_picture.draw, message.media)
                        message = replace(message, picture=picture)
                    result = await self.channels[message.channel].send(message)
                except Exception as exc:  # an adapter bug must not lose the row: retry it later
                    log.exception(
                        "channel %s raised while sending outbox row %s", message.channel, message.id
                    )
                    result = SendResult(SendOutcome.RETRY, detail=f"{type(exc).__name__}: {exc}")
                return message, result

        async def in_order(messages: list[OutboundMessage]) -> list[Outcome]:
            out: list[Outcome] = []
            for m_ in messages:  # one person's messages arrive as written
                outcome = await one(m_)
                if outcome is not None:
                    out.append(outcome)
                    if done is not None:
                        done(*outcome)
            return out

        def by_address(messages: list[OutboundMessage]) -> list[list[OutboundMessage]]:
            groups: dict[tuple[str, str], list[OutboundMessage]] = {}
            for m_ in messages:
                groups.setdefault((m_.channel, m_.address), []).append(m_)
            return list(groups.values())

        # Three lanes, one after the other: families' crisis replies, then notices to staff,
        # then everything else. A staff notice leaves only once the family's reply has (or has
        # failed): the family must never wait behind the team being told.
        results: list[Outcome] = []
        lanes = (
            [m_ for m_ in batch if m_.crisis and not m_.to_staff],
            [m_ for m_ in batch if m_.to_staff],
            [m_ for m_ in batch if not m_.crisis and not m_.to_staff],
        )
        try:
            for lane in lanes:
                for sent in await asyncio.gather(*(in_order(g) for g in by_address(lane))):
                    results += sent
        finally:
            self._stop_signals.remove(stopped)
        return results

    async def drain(self, now: datetime | None = None, limit: int = 1000) -> DispatchReport:
        """Dispatch until nothing more is due now (for ticks and tests)."""
        total = DispatchReport()
        while not self.stopping:
            report = await self.dispatch(now, limit)
            for name in (
                "sent",
                "retried",
                "failed",
                "expired",
                "held",
                "suppressed",
                "reclaimed",
                "released",
                "late_slots",
            ):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            for k, v in report.outcomes.items():
                total.outcomes[k] = total.outcomes.get(k, 0) + v
            if not (
                report.sent
                or report.failed
                or report.retried
                or report.suppressed
                or report.held
                or report.expired
            ):
                return total
        return total

    def pending(self) -> int:
        with self.ctx.db() as db:
            return outbox_sql.pending_count(db)
