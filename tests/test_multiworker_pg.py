"""Exactly once across workers: threads racing on one database, and 3 processes on PostgreSQL with a
SIGKILL.

Also: DATABASE_URL accepts every spelling hosts hand out for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.app import build
from bot.channels.base import OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine, normalize_url
from tests.workers.fleet import enroll_many
from tests.workers.rig import migrate

REPO = Path(__file__).resolve().parent.parent
ZONE = "America/New_York"
DUE = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 10:00 in New York, the day after DST starts


def lessons_per_contact(url: str) -> tuple[int, Counter[int]]:
    """(families, lesson outbox rows per family)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            families = conn.execute(select(func.count()).select_from(m.Contact)).scalar_one()
            rows = conn.execute(
                select(m.OutboundMessage.contact_id).where(
                    m.OutboundMessage.message_id.like("lesson.%")
                )
            ).scalars()
            return families, Counter(c for c in rows if c is not None)
    finally:
        engine.dispose()


def test_two_workers_racing_send_each_lesson_once(db_url: str) -> None:
    # given 300 families whose lesson is due in the same minute
    migrate(db_url)
    delivered: list[OutboundMessage] = []
    now = DUE + timedelta(seconds=30)
    apps = [
        build(
            Settings(database_url=db_url),
            channels={"telegram": ConsoleChannel(delivered.append, "telegram")},
            clock=lambda: now,
            rate_limits=False,
        )
        for _ in range(2)
    ]
    enroll_many(apps[0].ctx, 300, DUE - timedelta(hours=2), ZONE, "10:00")
    start = threading.Barrier(2)

    def work(index: int) -> None:
        app = apps[index]
        start.wait()
        for _ in range(20):  # small batches, so the two really interleave
            app.runtime.fire_due(now, batch=25)
            asyncio.run(app.dispatcher.drain(now, limit=25))

    # when two workers fire and dispatch at once
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for app in apps:
        asyncio.run(app.aclose())
    # then every family got exactly one lesson, and no outbox row was sent twice
    families, per_contact = lessons_per_contact(db_url)
    assert families == 300
    assert sorted(set(per_contact.values())) == [1] and len(per_contact) == 300
    sends = Counter(message.id for message in delivered)
    assert len(sends) == 300 and set(sends.values()) == {1}


def _start_worker(url: str, sends: Path, t0: float, speed: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CRAFTBOT_PROGRAM_DIR")}
    with sends.with_suffix(".log").open(
        "ab"
    ) as errors:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.workers.worker_loop",
                url,
                str(sends),
                (DUE + timedelta(seconds=20)).isoformat(),
                repr(t0),
                str(speed),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def _count(url_engine: object, sql: str) -> int:
    with url_engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(sql)).scalar_one())


FAMILIES = 5000
# The virtual clock runs 20x: the 120 s lease of a killed worker's rows runs out in 6 s.
SPEED = 20.0


def test_three_worker_processes_one_killed_deliver_every_lesson_once(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    # given 5,000 families on one PostgreSQL database whose lesson falls in the same minute
    migrate(fresh_pg_url)
    app = build(Settings(database_url=fresh_pg_url), channels={}, rate_limits=False)
    began = time.perf_counter()
    enroll_many(app.ctx, FAMILIES, DUE - timedelta(hours=3), ZONE, "10:00")
    enrol_s = time.perf_counter() - began
    asyncio.run(app.aclose())
    engine = make_engine(fresh_pg_url)
    t0 = time.time()
    logs = [tmp_path / f"sends-{i}.txt" for i in range(5)]
    # when 3 worker processes fan out; one is killed with SIGKILL while lessons are being queued
    # and another while they are being sent; each is restarted at once
    workers = [_start_worker(fresh_pg_url, logs[i], t0, SPEED) for i in range(3)]
    kills: list[str] = []
    in_flight: set[int] = set()  # rows claimed and unrecorded at the moments of the kills
    try:
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline:
            queued = _count(engine, "SELECT count(*) FROM outbound_messages")
            done = _count(engine, "SELECT count(*) FROM outbound_messages WHERE status = 'sent'")
            phase = (
                "queuing"
                if not kills and queued >= FAMILIES // 4
                else "sending"
                if len(kills) == 1 and done >= FAMILIES // 5
                else None
            )
            if phase:
                victim = workers[len(kills)]
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                with engine.connect() as conn:
                    claimed = set(
                        conn.scalars(
                            select(m.OutboundMessage.id).where(
                                m.OutboundMessage.status == "sending"
                            )
                        )
                    )
                in_flight |= claimed
                kills.append(f"{phase} ({queued} queued, {done} sent, {len(claimed)} in flight)")
                workers.append(_start_worker(fresh_pg_url, logs[len(workers)], t0, SPEED))
            ready = all(
                "worker ready" in log.with_suffix(".log").read_text()
                for log in logs[len(kills) : len(workers)]
            )
            if len(kills) == 2 and done >= FAMILIES and queued >= FAMILIES and ready:
                break
            time.sleep(0.1)
        fan_out_s = time.time() - t0
    finally:
        for worker in workers[len(kills) :]:
            worker.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=30) for w in workers[len(kills) :]]
        engine.dispose()
    assert codes == [0, 0, 0], [log.with_suffix(".log").read_text()[-2000:] for log in logs]
    # then every family has exactly one lesson in the outbox, sent: no duplicates and no misses
    families, per_contact = lessons_per_contact(fresh_pg_url)
    duplicates = sum(n - 1 for n in per_contact.values())
    misses = families - len(per_contact)
    provider = Counter(
        line.split()[0] for log in logs if log.exists() for line in log.read_text().splitlines()
    )
    repeated = sum(n - 1 for n in provider.values())
    repeated_ids = {int(row_id) for row_id, n in provider.items() if n > 1}
    engine = make_engine(fresh_pg_url)
    reclaimed = _count(engine, "SELECT count(*) FROM outbound_messages WHERE attempts > 1")
    engine.dispose()
    print(
        f"\nmulti-worker: {FAMILIES} families enrolled in {enrol_s:.1f} s; SIGKILLed while "
        f"{' and '.join(kills)}; "
        f"all sent in {fan_out_s:.1f} s; duplicates {duplicates}, misses {misses}; provider sends "
        f"{sum(provider.values())} for {len(provider)} rows; rows re-claimed after the lease: "
        f"{reclaimed}, "
        f"of them sent twice (killed between provider call and record): {repeated}"
    )
    assert len(kills) == 2
    assert (families, duplicates, misses) == (FAMILIES, 0, 0)
    # and the provider got every row; a row repeats only if the worker died between its send and its
    # record: each repeat was in flight (claimed, unrecorded) when a worker was killed, and no
    # more repeats than rows in flight then
    assert len(provider) == FAMILIES
    assert repeated_ids <= in_flight, sorted(repeated_ids - in_flight)[:20]
    assert repeated <= len(in_flight), (repeated, len(in_flight))


@pytest.mark.parametrize(
    "spelling",
    [
        "postgresql://{rest}",
        "postgresql+asyncpg://{rest}",
        "postgres://{rest}",
        "postgresql+psycopg2://{rest}",
        "postgresql+psycopg://{rest}",
    ],
)
def test_database_url_accepts_every_postgresql_spelling(spelling: str) -> None:
    # given a URL as a host hands it out
    url = spelling.format(rest="craftbot:secret@db.example.org:5432/craftbot")
    # then it runs on psycopg 3, with the same credentials, host and database
    assert normalize_url(url) == "postgresql+psycopg://craftbot:secret@db.example.org:5432/craftbot"


def test_heroku_style_url_connects_to_a_real_server(fresh_pg_url: str) -> None:
    # given the fresh database's URL written the Heroku way
    heroku = "postgres://" + fresh_pg_url.split("://", 1)[1]
    # when the app builds on it after `craftbot db upgrade`
    migrate(heroku)
    app = build(Settings(database_url=heroku), channels={}, rate_limits=False)
    # then it talks to PostgreSQL through psycopg 3
    assert app.engine.dialect.name == "postgresql" and app.engine.dialect.driver == "psycopg"
    asyncio.run(app.aclose())


def test_sqlite_url_is_left_alone() -> None:
    assert normalize_url("sqlite:///craftbot.db") == "sqlite:///craftbot.db"
