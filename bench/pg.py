"""The same fan-out on PostgreSQL: one worker, then two worker processes on one database.

The families are enrolled once into a template database; each run gets a fresh copy of it
(CREATE DATABASE ... TEMPLATE), so both runs start from identical rows.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.common import REPO, Child, env_for, server_cpu_s, settings_from
from bench.population import ENROL_AT, enrol_families
from bot.app import build
from storage import models as m
from storage.db import make_engine, session_factory
from storage.migrate import upgrade

REAPED_S = 0.5  # ample for the server to reap the processes of connections just closed


@dataclass
class Run:
    """One fan-out of the template's families by some workers."""

    seconds: float  # from "go" until every worker has finished its tick
    queued: int  # families with a message queued
    cpu_s: float  # the workers' CPU, together
    server_cpu_s: float | None  # the database server's CPU meanwhile (None: not on this machine)

    @property
    def cores_busy(self) -> float | None:
        """Cores the run kept busy on average: the workers' CPU and the server's, over its time."""
        if self.server_cpu_s is None or not self.seconds:
            return None
        return (self.cpu_s + self.server_cpu_s) / self.seconds


@dataclass
class PgFanout:
    families: int
    one_worker: Run
    two_workers: Run

    @property
    def speedup(self) -> float:
        two = self.two_workers.seconds
        return self.one_worker.seconds / two if two else 0.0

    def speedup_ceiling(self, cpus: int) -> float | None:
        """The most two workers could gain over one on `cpus` cores, spending the CPU a family
        one worker did: one worker already keeps `cores_busy` cores busy (the server works on
        one statement while the worker prepares the next), and two can keep at most `cpus`."""
        busy = self.one_worker.cores_busy
        return cpus / busy if busy else None


def pg_url() -> str | None:
    """CRAFTBOT_TEST_PG_URL, else .ci/.pg_url (written by `make pg-test`); None when neither
    answers."""
    raw = os.environ.get("CRAFTBOT_TEST_PG_URL", "").strip()
    path = REPO / ".ci" / ".pg_url"
    if not raw and path.exists():
        raw = path.read_text().strip()
    if not raw:
        return None
    try:
        with _admin(raw) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return None
    return raw


def run(base_url: str, n: int) -> PgFanout:
    with database(base_url) as template:
        engine = make_engine(template)
        upgrade(engine)
        engine.dispose()
        app = build(settings_from(env_for(template)), channels={}, clock=lambda: ENROL_AT)
        enrol_families(app, n, "telegram")
        asyncio.run(app.aclose())
        one = _fan_out(base_url, template, workers=1)
        two = _fan_out(base_url, template, workers=2)
    return PgFanout(n, one, two)


def _fan_out(base_url: str, template: str, workers: int) -> Run:
    with database(base_url, template) as url:
        children = [Child(["bench.worker_proc"], env_for(url)).start() for _ in range(workers)]
        try:
            for child in children:
                child.wait_for("ready", 120)
            server_before = server_cpu_s()
            for child in children:
                child.send("go")
            done = [child.wait_for("fanout_done") for child in children]
        finally:
            for child in children:
                child.stop()
        # Read once the workers' connections are gone and their server processes reaped: a
        # process that has exited but is not reaped yet shows none of its time.
        time.sleep(REAPED_S)
        server_after = server_cpu_s()
        engine = make_engine(url)
        with session_factory(engine)() as db:
            queued = (
                db.execute(select(func.count(func.distinct(m.OutboundMessage.contact_id)))).scalar()
                or 0
            )
        engine.dispose()
    server = None if server_before is None or server_after is None else server_after - server_before
    return Run(
        max(d["t1"] for d in done) - min(d["t0"] for d in done),
        queued,
        sum(d["cpu_s"] for d in done),
        server,
    )


@contextmanager
def migrated_database(base_url: str) -> Iterator[str]:
    """A fresh, empty database at the newest schema, dropped afterwards."""
    with database(base_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@contextmanager
def database(base_url: str, template: str | None = None) -> Iterator[str]:
    name = f"craftbot_bench_{uuid.uuid4().hex[:12]}"
    source = make_url(template).database if template else "template0"
    with _admin(base_url) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} ENCODING 'UTF8'").format(
                sql.Identifier(name), sql.Identifier(source or "template0")
            )
        )
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(base_url, name)


def _drop(base_url: str, name: str, tries: int = 120) -> None:
    """Drop a bench database. An autovacuum worker of the server's own role may be in it, which
    FORCE may not end: wait for it and try again, up to a minute (on the 100,000-family template
    it took longer than the 10 s this allowed before)."""
    for attempt in range(tries):
        try:
            with _admin(base_url) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True, connect_timeout=10)
