"""Connecting to the database: URL rules, SQLite's WAL + write locks, and migrations to head."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.crypto import cipher_for
from storage.sqlite_writer import WriterQueue

DEFAULT_URL = "sqlite:///craftbot.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000

# What a query takes: the runtime's Core connection (Context.transaction), or an ORM session where
# the caller works with mapped objects (the console, the CLI). Functions that return mapped objects
# take a Session only.
DB: TypeAlias = Session | Connection


def normalize_url(url: str) -> str:
    """Accept what hosts hand out: 'postgres://' (Heroku) and 'postgresql+asyncpg://' run on psycopg
    3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+asyncpg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, data_keys: Sequence[str] | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` whose encrypted columns use `data_keys` (DATA_KEYS; None: the
    development key, for `make run` and the tests)."""
    engine = _engine(normalize_url(url), **kwargs)
    engine.dialect.data_cipher = cipher_for(data_keys)  # type: ignore[attr-defined]
    return engine


def _engine(url: str, **kwargs: Any) -> Engine:
    # A statement's parameters are addresses, chat ids and ciphertext: never part of an error's
    # text, which goes to the log with its traceback (a 500, a retried record step).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": _LockedConnection},
            **kwargs,
        )
        _sqlite_write_locks(engine, WriterQueue(path, SQLITE_BUSY_TIMEOUT_MS / 1000))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class _LockedConnection(sqlite3.Connection):
    """A pysqlite connection that gives back its engine's place in the writers' queue
    (storage/sqlite_writer.py) when it commits or rolls back."""

    write_lock: WriterQueue | None = None
    holds_lock = False

    def acquire_write_lock(self) -> bool:
        """Take the lock unless this connection holds it already; True if this call took it."""
        if self.write_lock is None or self.holds_lock:
            return False
        # Past the busy timeout, go on without it: SQLite's own busy handler then decides, as
        # before.
        self.holds_lock = self.write_lock.acquire()
        return self.holds_lock

    def release_write_lock(self) -> None:
        if self.holds_lock and self.write_lock is not None:
            self.holds_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def _sqlite_write_locks(engine: Engine, write_lock: WriterQueue) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE: two workers can never claim the same rows.

    This is the recipe from SQLAlchemy's SQLite dialect docs: turn off pysqlite's own
    transaction handling and emit BEGIN ourselves. Transactions also queue on `write_lock` before
    BEGIN, within the process and across processes (storage/sqlite_writer.py): SQLite's busy
    handler polls with sleeps that grow to 100 ms, so 40 threads contending for its one writer
    waited seconds (inbound p99 4.4 s at 50 in flight), while the queue hands the writer over as
    soon as the last one commits.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        if isinstance(dbapi_conn, _LockedConnection):
            dbapi_conn.write_lock = write_lock
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        took = isinstance(dbapi_conn, _LockedConnection) and dbapi_conn.acquire_write_lock()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if took:  # no transaction began, so no commit or rollback will give the lock back
                dbapi_conn.release_write_lock()
            raise


def snapshot_reader(engine: Engine) -> Engine | None:
    """An engine whose reads take no lock, beside a SQLite file's; None for any other database
    (PostgreSQL readers never block its writers anyway)."""
    if not is_sqlite(engine) or engine.url.database in (None, "", ":memory:"):
        return None
    # pysqlite begins no transaction for a SELECT, and WAL gives each read a snapshot;
    # NullPool: no connection outlives the read.
    reader = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
    )
    reader.dialect.data_cipher = engine.dialect.data_cipher  # type: ignore[attr-defined]
    return reader


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping_read_only(engine: Engine) -> None:
    """Ask the simplest question outside any transaction SQLAlchemy would begin: on SQLite a
    Session begins with BEGIN IMMEDIATE, the write lock, which a health check must never take
    or wait for. Raises when the database cannot answer."""
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    finally:
        conn.close()


def ping(db: DB) -> None:
    """Ask the database the simplest question; raises when it cannot answer."""
    db.execute(text("SELECT 1"))
