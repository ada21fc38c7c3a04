"""The worker: an in-memory APScheduler whose only jobs are short periodic ticks.

Per-family schedules live in the database (bot/runtime/timers/), never as scheduler jobs, so
any number of workers can share one PostgreSQL database: each tick claims rows with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import metrics
from bot.app import App

log = logging.getLogger(__name__)
DISPATCH_EVERY_S = 1.0
RETENTION_EVERY_S = 3600.0  # retention scans whole tables: once an hour is soon enough


class Worker:
    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler()
        self._retention_at: float | None = None  # monotonic time of the last retention pass
        self._running: set[asyncio.Task[object]] = set()  # jobs under way, waited for at stop

    async def finished(self) -> None:
        """Wait for the jobs under way (after `pause`, before `stop`)."""
        while self._running:
            await asyncio.wait(set(self._running))

    def _track(self) -> asyncio.Task[object] | None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        return task

    async def tick(self) -> None:
        task = self._track()
        try:
            await self._tick()
        finally:
            self._running.discard(task)  # type: ignore[arg-type]

    async def _tick(self) -> None:
        """Fire due lessons, check-ins, nudges and timeouts; then dispatch; then housekeeping."""
        if self.app.dispatcher.stopping:
            return
        started = time.perf_counter()
        problems = await asyncio.to_thread(self.app.ctx.program.reload_if_changed)
        if problems:
            log.error(
                "a program edit has %d problem(s); still running the last good program",
                len(problems),
            )
        report = await asyncio.to_thread(self.app.runtime.fire_due)
        sent = await self.app.dispatcher.drain()
        # One line for a tick that did something; none for the many that find nothing due.
        did = (report.fired, report.skipped, report.timeouts, sent.sent, sent.retried, sent.failed)
        if any(did):
            log.info(
                "tick: fired %d, skipped %d, timeouts %d; sent %d, retried %d, failed %d",
                report.fired,
                report.skipped,
                report.timeouts,
                sent.sent,
                sent.retried,
                sent.failed,
            )
        if not self.app.dispatcher.stopping:
            await asyncio.to_thread(self.housekeeping)
        self.app.metrics.tick_seconds.observe(time.perf_counter() - started)

    async def dispatch(self) -> None:
        task = self._track()
        try:
            report = await self.app.dispatcher.drain()
        finally:
            self._running.discard(task)  # type: ignore[arg-type]
        if report.sent or report.retried or report.failed:
            log.info(
                "dispatch: sent %d, retried %d, failed %d",
                report.sent,
                report.retried,
                report.failed,
            )

    def housekeeping(self) -> None:
        self.app.runtime.housekeeping()
        due = self._retention_at is None or (
            time.monotonic() - self._retention_at >= RETENTION_EVERY_S
        )
        if due:
            self._retention_at = time.monotonic()
            expired = self.app.runtime.expire_unsent()
            if expired:
                log.info(
                    "outbox: %d messages no process sent ended expired after their day", expired
                )
            erased = self.app.runtime.erase_expired()
            if erased:
                log.info("retention: erased the words of %d rows", erased)

    def start(self) -> None:
        """Needs a running event loop (APScheduler's AsyncIOScheduler)."""
        every = self.app.settings.tick_seconds
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=every,
            id="tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, math.ceil(every)),
        )  # APScheduler wants a positive int
        self.scheduler.add_job(
            self.dispatch,
            "interval",
            seconds=DISPATCH_EVERY_S,
            id="dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=5,
        )
        self.scheduler.start()

    def pause(self) -> None:
        """Start no more jobs; those under way go on."""
        if self.scheduler.running:
            self.scheduler.pause()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


async def run_forever(app: App) -> None:
    settings = app.settings
    page = None  # a worker's own /metrics, when asked for (docs/deploy.md)
    if settings.metrics_port and settings.metrics_token:
        page = metrics.serve(app.metrics, settings.metrics_token, settings.metrics_port)
    # Before the first tick: a SIGTERM during it must drain, not kill, what is in flight.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping() -> None:
        stop.set()
        app.dispatcher.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)
    worker = Worker(app)
    await worker.tick()
    if not stop.is_set():
        worker.start()
        log.info("worker running: ticks every %ss", app.settings.tick_seconds)
        await stop.wait()
    # Jobs under way finish first (sends waiting for their pace stop at once): shutting the
    # scheduler down cancels whatever it still runs, mid-send, with a traceback in the log.
    worker.pause()
    await worker.finished()
    worker.stop()
    await app.dispatcher.idle()  # the sends in flight finish and are recorded
    log.info("worker stopped")
    if page is not None:
        page.close()
    await app.aclose()
