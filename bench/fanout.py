"""The morning on SQLite: fan-out of N lessons, their dispatch to Telegram, and crisis replies
meanwhile.

One worker process ticks once at the bench morning (all N lessons due in the same minute) and
then drains the outbox through the real Telegram adapter to the stand-in. While it drains, crisis
texts arrive at the real web app (its own uvicorn process) through signed Twilio webhooks; each
is timed from the request to the reply reaching the Twilio stand-in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.common import (
    TWILIO_TOKEN,
    Child,
    env_for,
    free_port,
    percentile,
    settings_from,
)
from bench.population import ENROL_AT, address, enrol_families
from bench.standins import Standins
from bot.app import build
from storage import models as m
from storage.db import make_engine
from tests.standins.signing import twilio_headers
from tests.standins.twilio_api import inbound_sms_form

CRISIS_SENDERS = 300
CRISIS_EVERY_S = 0.2
CRISIS_TEXT = "I want to kill myself"


@dataclass
class Morning:
    families: int
    fanout_s: float
    fanout_cpu_s: float
    fired: int
    rss_mb: float
    dispatch_s: float
    sent: int
    crisis_ms: list[float]
    crisis_lost: int

    @property
    def end_to_end_s(self) -> float:
        return self.fanout_s + self.dispatch_s


def prepare(db_url: str, n: int) -> None:
    """N Telegram families due at the bench minute, and SMS families (not due) who will write in
    crisis."""
    app = build(settings_from(env_for(db_url)), channels={}, clock=lambda: ENROL_AT)
    enrol_families(app, n, "telegram")
    enrol_families(app, CRISIS_SENDERS, "sms", lesson_due=False)
    asyncio.run(app.aclose())


def run(n: int, workdir: Path, standins: Standins) -> Morning:
    db_url = f"sqlite:///{workdir / 'morning.db'}"
    prepare(db_url, n)
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    env = env_for(db_url, standins.telegram, standins.twilio, public_base_url=web_url)
    standins.reset()
    web = Child(["bench.web_proc", str(port)], env).start()
    worker = Child(["bench.worker_proc", "--dispatch"], env).start()
    try:
        web.wait_for("ready", 120)
        worker.wait_for("ready", 120)
        asyncio.run(_wait_healthy(web_url))
        worker.send("go")
        done = worker.wait_for("fanout_done")
        start = worker.wait_for("dispatch_start")
        sent_at = asyncio.run(_crisis_while(web_url, worker))
        finish = worker.wait_for("dispatch_done")
        time.sleep(1.0)  # let the last crisis replies land
        latencies, lost = _crisis_latencies(sent_at, standins.stamps("twilio"))
    finally:
        worker.stop()
        web.stop()
    return Morning(
        n,
        done["t1"] - done["t0"],
        done["cpu_s"],
        done["fired"],
        done["rss_mb"],
        finish["t"] - start["t"],
        finish["sent"],
        latencies,
        lost,
    )


@dataclass
class Point:
    """One point of the fan-out curve: N lessons queued by one worker's tick, on SQLite."""

    families: int
    seconds: float
    cpu_s: float
    fired: int
    rss_mb: float
    enrol_s: float

    @property
    def us_per_family(self) -> float:
        return self.seconds * 1e6 / self.families


def tick_only(n: int, workdir: Path) -> Point:
    """A fresh SQLite file with n families due, one worker process's tick, its time and peak RSS."""
    db = workdir / f"curve-{n}.db"
    t0 = time.monotonic()
    prepare(f"sqlite:///{db}", n)
    enrol_s = time.monotonic() - t0
    worker = Child(["bench.worker_proc"], env_for(f"sqlite:///{db}")).start()
    try:
        worker.wait_for("ready", 120)
        worker.send("go")
        done = worker.wait_for("fanout_done")
    finally:
        worker.stop()
    for leftover in workdir.glob(f"curve-{n}.db*"):
        leftover.unlink()
    return Point(n, done["t1"] - done["t0"], done["cpu_s"], done["fired"], done["rss_mb"], enrol_s)


async def _wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the web app at {url} did not answer /healthz within 60 s")


async def _crisis_while(web_url: str, worker: Child) -> dict[str, float]:
    """One crisis text every CRISIS_EVERY_S from a different family until the drain ends."""
    sent_at: dict[str, float] = {}
    url = f"{web_url}/webhooks/twilio/sms"
    async with httpx.AsyncClient(timeout=30.0) as client:
        tasks = []
        for i in range(CRISIS_SENDERS):
            if any(e.get("event") == "dispatch_done" for e in worker.events):
                break
            number = address("sms", i)
            form = inbound_sms_form(number, CRISIS_TEXT)
            sent_at[number] = time.monotonic()
            tasks.append(
                asyncio.create_task(
                    client.post(url, data=form, headers=twilio_headers(TWILIO_TOKEN, url, form))
                )
            )
            await asyncio.sleep(CRISIS_EVERY_S)
        for answer in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(answer, BaseException) or answer.status_code != 200:
                raise RuntimeError(f"a crisis webhook was not accepted: {answer!r}")
    return sent_at


def _crisis_latencies(
    sent_at: dict[str, float], stamps: list[tuple[float, str]]
) -> tuple[list[float], int]:
    first: dict[str, float] = {}
    for t, to in stamps:
        if to in sent_at and t >= sent_at[to] and to not in first:
            first[to] = t
    latencies = [(first[n] - t0) * 1000 for n, t0 in sent_at.items() if n in first]
    return latencies, len(sent_at) - len(latencies)


def summary(morning: Morning) -> dict[str, float]:
    return {
        "p50": percentile(morning.crisis_ms, 50),
        "p99": percentile(morning.crisis_ms, 99),
        "max": max(morning.crisis_ms, default=0.0),
    }


def sample_lesson(workdir: Path) -> str:
    """The text of one lesson the morning queued, for the baseline to send."""
    engine = make_engine(f"sqlite:///{workdir / 'morning.db'}")
    with engine.connect() as conn:
        text_ = conn.execute(
            select(m.OutboundMessage.text).where(m.OutboundMessage.channel == "telegram").limit(1)
        ).scalar()
    engine.dispose()
    return str(text_)
