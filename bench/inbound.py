"""Replies coming in, open loop: signed Twilio check-in answers at fixed arrival rates, real
uvicorn.

Families were asked the evening question (their check-in fired); each then answers once. Requests
are sent on a fixed schedule (rate r: one every 1/r s), whatever the answers before them do, so a
slow server meets the same traffic a busy evening would send it (a closed loop of N clients cannot
show a p99 under N / throughput). Latency is timed from each request's *scheduled* moment to its
200, so a client that fell behind counts against the server, not for it. The web app verifies the
signature, runs the engine, commits and answers 200, then sends the reply to the Twilio stand-in.

Each rate gets its own families (one answer each). With two web processes the requests alternate
between them, as a load balancer would.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp

from bench.common import (
    TWILIO_TOKEN,
    Child,
    env_for,
    free_port,
    percentile,
    process_cpu_s,
    settings_from,
)
from bench.fanout import _wait_healthy
from bench.population import ENROL_AT, TICK_AT, address, enrol_families
from bench.standins import Standins
from bot.app import build
from tests.standins.signing import twilio_headers
from tests.standins.twilio_api import inbound_sms_form

RATES = (50, 100, 200, 400)
MORE_RATES = (500, 600, 800)  # tried only while the rate before held (500: the goal itself)
P99_BOUND_MS = 100.0
SECONDS_PER_RATE = float(os.environ.get("BENCH_SECONDS_PER_RATE", "8"))  # lower for a quick look
WARM_UP = (50, 100)  # 100 answers at 50 req/s, not counted: connections opened, caches warm
SETTLE_S = 1.5  # between rates, so one rate's backlog never counts against the next
ANSWERS = (
    "no, he didn't drink today",
    "yes she used today",
    "not sure",
    "it was a good day, nothing",
    "he drank again",
    "no",
)


@dataclass
class Rate:
    rate: float
    sent: int
    latencies_ms: list[float]
    failures: int
    seconds: float
    web_cpu_s: float | None = None

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def holds(self) -> bool:
        return self.failures == 0 and self.p99 <= P99_BOUND_MS


@dataclass
class OpenLoop:
    label: str
    webs: int
    rates: list[Rate] = field(default_factory=list)

    def best(self) -> float:
        """The highest rate tried whose p99 stayed within P99_BOUND_MS with no failure (0: none)."""
        return max((r.rate for r in self.rates if r.holds), default=0.0)

    def at(self, rate: float) -> Rate | None:
        return next((r for r in self.rates if r.rate == rate), None)

    def figures(self) -> dict[str, object]:
        return {
            "label": self.label,
            "web_processes": self.webs,
            "best_rate_p99_within_100ms": self.best(),
            "rates": [
                {
                    "rate": r.rate,
                    "sent": r.sent,
                    "p50_ms": round(r.p50, 1),
                    "p99_ms": round(r.p99, 1),
                    "max_ms": round(max(r.latencies_ms, default=0.0), 1),
                    "failures": r.failures,
                    "web_cpu_ms_per_reply": (
                        round(r.web_cpu_s * 1000 / r.sent, 2) if r.web_cpu_s and r.sent else None
                    ),
                }
                for r in self.rates
            ],
        }


def families_needed() -> int:
    return WARM_UP[1] + int(sum(r * SECONDS_PER_RATE for r in (*RATES, *MORE_RATES)))


def prepare(db_url: str, n: int) -> None:
    """n SMS families whose check-in question went out at the bench minute."""
    app = build(settings_from(env_for(db_url)), channels={}, clock=lambda: ENROL_AT)
    enrol_families(app, n, "sms", lesson_due=False, checkin_due=True)
    app.runtime.fire_due(TICK_AT)
    asyncio.run(app.aclose())


def run(
    db_url: str, label: str, webs: int, standins: Standins, rates: tuple[int, ...] = RATES
) -> OpenLoop:
    """The open-loop rates against `webs` web processes on a prepared database."""
    ports = [free_port() for _ in range(webs)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    at = (TICK_AT + timedelta(minutes=1)).isoformat()
    children = [
        Child(
            ["bench.web_proc", str(port), "--at", at],
            env_for(db_url, twilio_url=standins.twilio, public_base_url=urls[0]),
        ).start()
        for port in ports
    ]
    result = OpenLoop(label, webs)
    try:
        for child in children:
            child.wait_for("ready", 120)
        for url in urls:
            asyncio.run(_wait_healthy(url))
        pids = [c.proc.pid for c in children if c.proc is not None]
        asyncio.run(_open_loop(urls, WARM_UP[0], 0, WARM_UP[1]))
        time.sleep(SETTLE_S)
        first = WARM_UP[1]
        plan = [*rates, *MORE_RATES]
        for i, rate in enumerate(plan):
            if rate in MORE_RATES and not (result.rates and result.rates[-1].holds):
                break
            count = int(rate * SECONDS_PER_RATE)
            cpu0 = _cpu(pids)
            measured = asyncio.run(_open_loop(urls, rate, first, count))
            cpu1 = _cpu(pids)
            if cpu0 is not None and cpu1 is not None:
                measured.web_cpu_s = cpu1 - cpu0
            result.rates.append(measured)
            print(
                f"  {label}: {rate:>4} req/s  p50 {measured.p50:7.1f} ms  p99 {measured.p99:7.1f} "
                "ms"
                f"  failures {measured.failures}",
                flush=True,
            )
            first += count
            if i + 1 < len(plan):
                time.sleep(SETTLE_S)
    finally:
        for child in children:
            child.stop()
    return result


def _cpu(pids: list[int]) -> float | None:
    values = [process_cpu_s(pid) for pid in pids]
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


async def _open_loop(urls: list[str], rate: float, first: int, count: int) -> Rate:
    paths = [f"{url}/webhooks/twilio/sms" for url in urls]
    requests = []
    for i in range(count):
        form = inbound_sms_form(address("sms", first + i), ANSWERS[i % len(ANSWERS)])
        # Signed for the URL the provider was given (the first process's public address): behind
        # a load balancer every process sees the same public URL.
        requests.append((paths[i % len(paths)], form, twilio_headers(TWILIO_TOKEN, paths[0], form)))
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30.0)
    ) as client:

        async def one(url: str, form: dict[str, str], headers: dict[str, str], due: float) -> None:
            nonlocal failures
            try:
                async with client.post(url, data=form, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                failures += 1

        start = time.perf_counter() + 0.05
        tasks = []
        for i, (url, form, headers) in enumerate(requests):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(url, form, headers, due)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
    return Rate(rate, count, latencies, failures, seconds)
