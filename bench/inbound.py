"""Replies coming in: signed Twilio webhooks with check-in answers, 50 at a time, against real uvicorn.

Families were asked the evening question (their check-in fired); each then answers once. The web
app verifies the signature, runs the engine and commits (on SQLite, webhooks that arrive together
share one commit), answers 200, and sends the reply to the Twilio stand-in right after. Latency is
timed at the client, from sending to the 200.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp

from bench.common import TWILIO_TOKEN, Child, env_for, free_port, percentile, settings_from
from bench.fanout import _wait_healthy
from bench.population import ENROL_AT, TICK_AT, address, enrol_families
from bench.standins import Standins
from bot.app import build
from tests.standins.signing import twilio_headers
from tests.standins.twilio_api import inbound_sms_form

CONCURRENCY = 50
ANSWERS = (
    "no, he didn't drink today",
    "yes she used today",
    "not sure",
    "it was a good day, nothing",
    "he drank again",
    "no",
)


@dataclass
class Inbound:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int
    web_cpu_ms_per_reply: float | None = (
        None  # the web process's CPU (user + system) over the run, a reply
    )

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def prepare(db_url: str, n: int) -> None:
    """n SMS families whose check-in question went out at the bench minute."""
    app = build(settings_from(env_for(db_url)), channels={}, clock=lambda: ENROL_AT)
    enrol_families(app, n, "sms", lesson_due=False, checkin_due=True)
    app.runtime.fire_due(TICK_AT)
    asyncio.run(app.aclose())


def run(n: int, workdir: Path, standins: Standins) -> Inbound:
    db_url = f"sqlite:///{workdir / 'inbound.db'}"
    prepare(db_url, n)
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    web = Child(
        ["bench.web_proc", str(port), "--at", (TICK_AT + timedelta(minutes=1)).isoformat()],
        env_for(db_url, twilio_url=standins.twilio, public_base_url=web_url),
    ).start()
    try:
        web.wait_for("ready", 120)
        asyncio.run(_wait_healthy(web_url))
        assert web.proc is not None
        cpu_before = process_cpu_s(web.proc.pid)
        result = asyncio.run(_answers(web_url, n))
        cpu_after = process_cpu_s(web.proc.pid)
        if cpu_before is not None and cpu_after is not None:
            result.web_cpu_ms_per_reply = (cpu_after - cpu_before) * 1000 / n
            print(f"  web process: {result.web_cpu_ms_per_reply:.2f} ms of CPU a reply", flush=True)
        return result
    finally:
        web.stop()


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None where there is no /proc.

    Wall-clock figures move with whatever else the machine runs; this one much less.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _answers(web_url: str, n: int) -> Inbound:
    url = f"{web_url}/webhooks/twilio/sms"
    forms = [inbound_sms_form(address("sms", i), ANSWERS[i % len(ANSWERS)]) for i in range(n)]
    signed = [
        (form, twilio_headers(TWILIO_TOKEN, url, form)) for form in forms
    ]  # signing is the provider's work
    latencies: list[float] = []
    failures = 0
    queue = iter(signed)
    # aiohttp, not httpx: at 50 in flight httpx/httpcore cost the client ~7 ms of CPU a request on
    # this 2-core machine (about 145 req/s at most), so the client, not the server, set the figures.
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30.0)
    ) as client:

        async def client_loop() -> None:
            nonlocal failures
            for form, headers in queue:
                t0 = time.perf_counter()
                try:
                    async with client.post(url, data=form, headers=headers) as answer:
                        await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError):
                    failures += 1  # counted and reported; the rest still measure
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                failures += status != 200

        t0 = time.monotonic()
        await asyncio.gather(*(client_loop() for _ in itertools.repeat(None, CONCURRENCY)))
        seconds = time.monotonic() - t0
    return Inbound(n, seconds, latencies, failures)


def summary(result: Inbound) -> dict[str, float]:
    return {"p50": percentile(result.latencies_ms, 50), "p99": percentile(result.latencies_ms, 99)}
