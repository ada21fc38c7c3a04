"""Outbox to provider: one worker's throughput with no rate limit, and a paced channel's
accuracy."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import TELEGRAM_TOKEN, env_for, process_cpu_s, settings_from, shifted_clock
from bench.population import ENROL_AT, TICK_AT, contact_ids, enrol_families, queue_backlog
from bench.standins import Standins
from bot.app import App, build
from bot.channels.base import OutboundMessage, SendResult
from bot.channels.telegram import TelegramBot

SMS_TEXT = (
    "Welcome, Ana. CRAFT coaches you, the family member, not Jo. It has three aims: help Jo toward "
    "treatment, help them use less, and help you feel better, whatever they choose. One small "
    "step a "
    "day. Try today: write down one thing you hope will change."
)
PACED_RATE = 30.0
PACED_SECONDS = 15
IN_FLIGHT = 64  # TelegramBot's connection pool, as the dispatcher uses it
SEND_COST_CHAT = 700_000_000  # chat ids of the send-cost run (the stand-in accepts any)


@dataclass
class Throughput:
    messages: int
    seconds: float
    sent: int
    cpu_s: float = 0.0  # the dispatching process's CPU (the stand-in runs in its own process)

    @property
    def per_s(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_msg(self) -> float:
        return self.cpu_s * 1000 / self.sent if self.sent else 0.0


@dataclass
class Paced:
    configured: float
    achieved: float
    max_in_window: int
    messages: int
    max_sent_in_window: int  # counted when our adapter was called, before the network

    @property
    def accuracy(self) -> float:
        return self.achieved / self.configured

    @property
    def worst_window(self) -> float:
        return self.max_in_window / self.configured


def sms_throughput(n: int, workdir: Path, standins: Standins) -> Throughput:
    """Drain n queued SMS through the real Twilio adapter (aiohttp) to the stand-in, no rate
    limit."""
    env = env_for(f"sqlite:///{workdir / 'dispatch.db'}", twilio_url=standins.twilio)
    app = build(settings_from(env), clock=lambda: ENROL_AT, rate_limits=False)
    enrol_families(app, n, "sms", lesson_due=False)
    queue_backlog(app, contact_ids(app, "sms"), SMS_TEXT, TICK_AT)
    app.ctx.clock = shifted_clock(TICK_AT)
    t0, c0 = time.monotonic(), time.process_time()
    report = asyncio.run(_drain_and_close(app))
    return Throughput(n, time.monotonic() - t0, report, time.process_time() - c0)


def paced(workdir: Path, standins: Standins) -> Paced:
    """A backlog on a 30 msg/s Telegram channel; the rate and the busiest second, as the provider
    saw them."""
    n = int(PACED_RATE * PACED_SECONDS)
    env = env_for(f"sqlite:///{workdir / 'paced.db'}", telegram_url=standins.telegram)
    # The channel's pace as a deployment has it: shared by every process through the database.
    env["TELEGRAM_RATE_PER_S"] = str(PACED_RATE)
    app = build(settings_from(env), clock=lambda: ENROL_AT)
    enrol_families(app, n, "telegram", lesson_due=False)
    queue_backlog(app, contact_ids(app, "telegram"), SMS_TEXT, TICK_AT)
    app.ctx.clock = shifted_clock(TICK_AT)
    standins.reset()
    started: list[float] = []
    channel = app.dispatcher.channels["telegram"]
    send = channel.send

    async def stamped(message: OutboundMessage) -> SendResult:
        started.append(time.monotonic())
        return await send(message)

    channel.send = stamped  # type: ignore[method-assign]
    asyncio.run(_drain_and_close(app))
    times = sorted(t for t, _ in standins.stamps("telegram"))
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return Paced(
        PACED_RATE, achieved, busiest_second(times), len(times), busiest_second(sorted(started))
    )


def busiest_second(times: list[float]) -> int:
    """The most arrivals in any window [t, t + 1 s), sliding over every arrival."""
    best, j = 0, 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


@dataclass
class SendCost:
    """What the Telegram sends alone cost: the SDK's client CPU and the stand-in's, a message."""

    messages: int
    seconds: float
    client_us: float  # python-telegram-bot's Bot on craftbot's aiohttp transport
    standin_us: float  # the provider stand-in answering (on the same cores in every run here)

    @property
    def us_per_msg(self) -> float:
        return self.client_us + self.standin_us


def telegram_send_cost(n: int, standins: Standins) -> SendCost:
    """n send_message calls through craftbot's TelegramBot (as many in flight as its connection
    pool), nothing else: no database, no dispatcher. The floor under any morning that sends
    through the SDK."""
    pid = standins.pid("telegram")
    standin_before = process_cpu_s(pid)
    t0, c0 = time.monotonic(), time.process_time()
    asyncio.run(_send_only(n, standins.telegram))
    seconds, client = time.monotonic() - t0, time.process_time() - c0
    standin_after = process_cpu_s(pid)
    standin = (
        standin_after - standin_before
        if standin_after is not None and standin_before is not None
        else 0.0
    )
    return SendCost(n, seconds, client * 1e6 / n, standin * 1e6 / n)


async def _send_only(n: int, api_base_url: str) -> None:
    telegram = TelegramBot(TELEGRAM_TOKEN, api_base_url=api_base_url, max_connections=IN_FLIGHT)
    try:
        await telegram.username()  # getMe once, as a deployment's first send does
        pool = asyncio.Semaphore(IN_FLIGHT)

        async def one(i: int) -> None:
            async with pool:
                await telegram.bot.send_message(chat_id=SEND_COST_CHAT + i, text=SMS_TEXT)

        await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await telegram.aclose()


async def _drain_and_close(app: App) -> int:
    try:
        return (await app.dispatcher.drain()).sent
    finally:
        await app.aclose()
