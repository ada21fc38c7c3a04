"""A craftbot worker under measurement (python -m bench.worker_proc): one fan-out tick, then maybe a
drain.

Settings come from the environment like a real worker's. It builds the app, waits for "go" on
stdin (so several workers start together), runs `fire_due` at the bench morning and reports
timings on stdout, with its peak RSS; with --dispatch it then drains the outbox to the providers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.common import peak_rss_mb, say, shifted_clock
from bench.population import TICK_AT
from bot.app import App, build
from bot.process import settle_heap
from bot.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dispatch", action="store_true", help="drain the outbox after the tick")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    app = build(
        Settings(), clock=shifted_clock(TICK_AT), rate_limits=False
    )  # settings from the environment
    settle_heap()  # as `craftbot worker` does (bot/process.py)
    say("ready", rss_mb=peak_rss_mb())
    sys.stdin.readline()  # "go"
    t0, c0 = time.monotonic(), time.process_time()
    report = app.runtime.fire_due(TICK_AT, batch=args.batch)
    t1, c1 = time.monotonic(), time.process_time()
    say(
        "fanout_done",
        t0=t0,
        t1=t1,
        cpu_s=c1 - c0,
        fired=report.fired,
        skipped=report.skipped,
        rss_mb=peak_rss_mb(),
    )
    if args.dispatch:
        say("dispatch_start", t=time.monotonic())
        sent = asyncio.run(drain(app))
        say("dispatch_done", t=time.monotonic(), sent=sent, rss_mb=peak_rss_mb())
    else:
        asyncio.run(app.aclose())


async def drain(app: App) -> int:
    report = await app.dispatcher.drain()
    await app.aclose()
    return report.sent


if __name__ == "__main__":
    main()
