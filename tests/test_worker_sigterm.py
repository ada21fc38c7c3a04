"""SIGTERM to a real worker process while it sends, in its first tick or a later one (issue 12, 4):
the sends in flight finish and are recorded, the sends waiting for their pace stop waiting, the
rest are given back, the process exits 0 at once with no traceback in its log (no scheduler job
cancelled mid-way), and the next worker sends the rest: every family gets its lesson exactly
once.

A real `python -m bot worker` (the Procfile's line) on a SQLite file, sending through the real
Telegram SDK to the Telegram stand-in on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bench.common import TELEGRAM_SECRET
from bot.app import build
from bot.settings import Settings
from storage import models as m
from tests.standins.telegram_api import TelegramStandin
from tests.test_tick_cli import zone_at_midday
from tests.workers.fleet import enroll_many

FAMILIES = 300


@pytest.fixture
def telegram() -> Iterator[TelegramStandin]:
    server = TelegramStandin(latency_s=0.02).start()
    yield server
    server.stop()


def env_for(db: Path, telegram: TelegramStandin) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CRAFTBOT_PROGRAM_DIR")}
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{db}",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "TELEGRAM_RATE_PER_S": "30",
        "TELEGRAM_PER_CHAT_INTERVAL_S": "0",
        "TICK_SECONDS": "1",
    }


def settings_of(env: dict[str, str]) -> Settings:
    names = ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
    return Settings.model_validate(
        {k.lower(): env[k] for k in (*names, "TELEGRAM_API_BASE_URL", "TELEGRAM_RATE_PER_S")}
    )


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def statuses(app: object) -> Counter[str]:
    with app.ctx.db() as db:  # type: ignore[attr-defined]
        return Counter(db.scalars(select(m.OutboundMessage.status)))


@pytest.mark.parametrize("tick", ["first", "later"])
def test_sigterm_while_sending_drains_exits_cleanly_and_sends_nothing_twice(
    tmp_path: Path, telegram: TelegramStandin, tick: str
) -> None:
    # given 300 families whose lesson was due a minute ago, and Telegram paced at 30 a second
    # (about 12 s of sending): enrolled before the worker starts (its first tick sends), or once
    # it runs (a scheduled tick sends)
    env = env_for(tmp_path / "worker.db", telegram)
    app = build(settings_of(env), channels={})  # migrates the SQLite file
    now = datetime.now(UTC)
    zone = zone_at_midday(now)
    lesson = (now - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).strftime("%H:%M")
    log = tmp_path / "worker.log"

    def enrol() -> None:
        at = now - timedelta(hours=1)
        enroll_many(app.ctx, FAMILIES, at, zone, lesson, checkin_time="23:00")

    if tick == "first":
        enrol()
    try:
        # when the worker gets SIGTERM once it is sending
        worker = start_worker(env, log)
        deadline = time.monotonic() + 60
        if tick == "later":
            while "worker running" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            enrol()
        while len(telegram.received) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        first_tick = "worker running" not in log.read_text()
        worker.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = worker.wait(timeout=30)
        exit_s = time.monotonic() - signalled
        stopped_at = len(telegram.received)
        left = statuses(app)
        # then it was in its first tick, it exits 0 at once and cleanly, and nothing is left
        # claimed: what was not sent is queued again
        text = log.read_text()
        assert first_tick == (tick == "first"), text[-2000:]
        assert code == 0, text[-2000:]
        assert exit_s < 3, exit_s  # sends waiting for their pace stop waiting
        assert "Traceback" not in text and "CancelledError" not in text, text[-3000:]
        assert "sending" not in left, left
        assert 20 <= stopped_at < FAMILIES and left["sent"] == stopped_at, (stopped_at, left)
        # and the next worker sends the rest (at a quicker pace, to keep the test short): every
        # family got its lesson exactly once
        worker = start_worker({**env, "TELEGRAM_RATE_PER_S": "300"}, log)
        deadline = time.monotonic() + 90
        while statuses(app)["sent"] < FAMILIES and time.monotonic() < deadline:
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        asyncio.run(app.aclose())
    lessons = Counter((item["chat_id"], item["text"]) for item in telegram.received)
    assert len(telegram.received) == FAMILIES, len(telegram.received)
    assert set(lessons.values()) == {1}
    assert len({chat for chat, _ in lessons}) == FAMILIES
    assert "Traceback" not in log.read_text()
