"""The approach a Python team would build instead (python -m bench.baseline_proc N URL TEXT_FILE).

python-telegram-bot's documented per-user daily message: an Application with a JobQueue and one
`run_daily` job per chat, sending with the real telegram `Bot`. Two settings differ from the
defaults, because with them the run never finishes (measured, see docs/performance.md):
`misfire_grace_time=None` (APScheduler's default of 1 s skips every job it reaches more than a
second late) and at most 64 sends in flight (100,000 at once queue in httpcore's pool, whose
bookkeeping grows with the queue).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext

from bench.common import TELEGRAM_TOKEN, peak_rss_mb, say

IN_FLIGHT = 64


async def run(n: int, url: str, text: str) -> None:
    app = Application.builder().token(TELEGRAM_TOKEN).base_url(f"{url}/bot").updater(None).build()
    await app.initialize()
    assert app.job_queue is not None
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    state = {"done": 0, "errors": 0, "last": 0.0}
    finished = asyncio.Event()

    async def lesson(context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert context.job is not None
        try:
            async with in_flight:
                await context.bot.send_message(chat_id=context.job.chat_id, text=text)
        except Exception:  # counted, not fatal: the baseline is measured as it behaves
            state["errors"] += 1
        state["done"] += 1
        state["last"] = time.monotonic()
        if state["done"] >= n:
            finished.set()

    # Calibrate how long adding jobs takes, so the shared due time is still ahead when all are in.
    t0 = time.monotonic()
    probe = [
        app.job_queue.run_daily(lesson, dt.time(0, 0, tzinfo=dt.UTC), chat_id=1) for _ in range(200)
    ]
    for job in probe:
        job.schedule_removal()
    margin = 5.0 + 2.0 * (time.monotonic() - t0) / 200 * n
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=margin)).replace(
        microsecond=0
    ) + dt.timedelta(seconds=1)
    due_mono = time.monotonic() + (due - dt.datetime.now(dt.UTC)).total_seconds()
    t_setup = time.monotonic()
    for i in range(n):
        app.job_queue.run_daily(
            lesson, due.timetz(), chat_id=10_000_000 + i, job_kwargs={"misfire_grace_time": None}
        )
    setup_s = time.monotonic() - t_setup
    rss_jobs = peak_rss_mb()
    await app.start()
    say("scheduled", setup_s=setup_s, due=due_mono, late_start=time.monotonic() > due_mono)
    await finished.wait()
    say(
        "done",
        due=due_mono,
        last=state["last"],
        seconds=state["last"] - due_mono,
        sent=state["done"] - state["errors"],
        errors=state["errors"],
        setup_s=setup_s,
        rss_mb=peak_rss_mb(),
        rss_after_jobs_mb=rss_jobs,
    )
    await app.stop()
    await app.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int)
    parser.add_argument("url")
    parser.add_argument("text_file", type=Path)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.url, args.text_file.read_text()))


if __name__ == "__main__":
    main()
