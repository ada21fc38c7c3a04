"""Pytest plugin giving tests a database URL: a throwaway PostgreSQL database, or SQLite and
PostgreSQL both."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

PG_URL_ENV = "CRAFTBOT_TEST_PG_URL"
NOT_CONFIGURED = f"PostgreSQL not configured: run `make pg-test` or set {PG_URL_ENV}"


def _sqlalchemy_url(raw: str) -> URL:
    """Parse a base URL and pin the psycopg 3 driver, whatever spelling the developer used."""
    url = make_url(raw)
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(
            f"{PG_URL_ENV}={url.render_as_string()} is not a PostgreSQL URL; "
            "it must start with postgresql+psycopg://"
        )
    return url.set(drivername="postgresql+psycopg")


def _libpq_conninfo(url: URL) -> str:
    """psycopg.connect wants a libpq URL: no '+driver' suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_connection(base: URL) -> psycopg.Connection[tuple[object, ...]]:
    # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
    return psycopg.connect(_libpq_conninfo(base), autocommit=True, connect_timeout=10)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that asks for a PostgreSQL fixture, so `-m postgres` selects it.

    tryfirst: the marks must be in place before pytest's own `-m` deselection runs.
    The "postgres" property lands in the JUnit report, where .ci/run counts PostgreSQL tests that
    ran.
    """
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("postgres") is not None:
            item.user_properties.append(("postgres", "true"))


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The base PostgreSQL URL (SQLAlchemy form) from the environment, checked once per session.

    Skips when unset on a developer machine; fails under CI=true, where the PostgreSQL tests must
    run.
    """
    raw = os.environ.get(PG_URL_ENV, "").strip()
    if not raw:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{NOT_CONFIGURED} (CI=true: the PostgreSQL tests must not be skipped)")
        pytest.skip(NOT_CONFIGURED)
    base = _sqlalchemy_url(raw)
    try:
        with _admin_connection(base) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        # A configured but unreachable server is a broken setup, not a reason to skip.
        pytest.fail(f"cannot connect to {base.render_as_string()} from {PG_URL_ENV}: {exc}")
    return base.render_as_string(hide_password=False)


@contextmanager
def fresh_database(pg_url: str) -> Iterator[str]:
    """Create a new, empty database next to pg_url's; yield its URL; drop it (even if in use) on
    exit."""
    base = make_url(pg_url)
    name = f"craftbot_t_{uuid.uuid4().hex[:16]}"
    with _admin_connection(base) as conn:
        # template0 + UTF8: independent of the cluster's default encoding (SQL_ASCII on some hosts)
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(base, name)


def _drop(base: URL, name: str) -> None:
    """DROP ... WITH (FORCE): a test that forgot to dispose its engine leaves nothing behind.

    FORCE cannot end a backend it does not own (an autovacuum worker that just started on the
    new database): PostgreSQL says InsufficientPrivilege, and a moment later the drop works.
    """
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    for attempt in range(10):
        try:
            with _admin_connection(base) as conn:
                conn.execute(drop)
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 9:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def pg_database_factory(pg_url: str) -> Iterator[Callable[[], str]]:
    """A function making another fresh database per call; all are dropped after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(fresh_database(pg_url))


@pytest.fixture
def fresh_pg_url(pg_database_factory: Callable[[], str]) -> str:
    """The SQLAlchemy URL of a new, empty PostgreSQL database for one test."""
    return pg_database_factory()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty database; a test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'craftbot.db'}"
    # Looked up lazily so the SQLite run never needs (or skips for lack of) a PostgreSQL server.
    url: str = request.getfixturevalue("fresh_pg_url")
    return url
