"""Tests for the PostgreSQL test harness in tests/pg.py: fresh databases work, are isolated, and go
away."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from tests.pg import fresh_database

CREATE_FAMILY = "CREATE TABLE family (id serial PRIMARY KEY, name text NOT NULL)"


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def database_exists(pg_url: str, name: str) -> bool:
    with connect(pg_url) as conn:
        found = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
    return found is not None


def test_fresh_database_stores_and_returns_rows(fresh_pg_url: str, pg_url: str) -> None:
    # given an empty fresh database, not the shared base one
    assert make_url(fresh_pg_url).database != make_url(pg_url).database
    # when a table is created and a row written through SQLAlchemy
    with connect(fresh_pg_url) as conn:
        conn.execute(sa.text(CREATE_FAMILY))
        conn.execute(sa.text("INSERT INTO family (name) VALUES (:name)"), {"name": "Ana María"})
    # then a new connection reads it back, non-ASCII intact
    with connect(fresh_pg_url) as conn:
        assert conn.execute(sa.text("SELECT name FROM family")).scalars().all() == ["Ana María"]


def test_two_fresh_databases_do_not_see_each_other(
    pg_database_factory: Callable[[], str],
) -> None:
    # given two fresh databases
    first, second = pg_database_factory(), pg_database_factory()
    # when a table with a row is created in the first only
    with connect(first) as conn:
        conn.execute(sa.text(CREATE_FAMILY))
        conn.execute(sa.text("INSERT INTO family (name) VALUES ('Sam')"))
    # then the second has no such table, and can create its own without a clash
    with connect(second) as conn:
        assert not sa.inspect(conn).has_table("family")
        conn.execute(sa.text(CREATE_FAMILY))
        assert conn.execute(sa.text("SELECT count(*) FROM family")).scalar_one() == 0


def test_fresh_database_is_dropped_even_while_a_connection_is_open(pg_url: str) -> None:
    # given a fresh database with a connection a careless test left open
    with fresh_database(pg_url) as url:
        name = make_url(url).database
        assert name is not None and database_exists(pg_url, name)
        leaked = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()
        leaked.execute(sa.text("SELECT 1"))
    # when the harness is done with it, then it is gone
    try:
        assert not database_exists(pg_url, name)
    finally:
        leaked.invalidate()


def test_db_url_gives_a_working_empty_database(db_url: str) -> None:
    # given the URL for whichever backend this run is parametrised with
    # when a table is created, written and read
    with connect(db_url) as conn:
        assert sa.inspect(conn).get_table_names() == []
        conn.execute(sa.text("CREATE TABLE family (id integer PRIMARY KEY, name text NOT NULL)"))
        conn.execute(sa.text("INSERT INTO family (id, name) VALUES (1, 'Lee')"))
    # then the row is there on a new connection
    with connect(db_url) as conn:
        assert conn.execute(sa.text("SELECT name FROM family")).scalars().all() == ["Lee"]


def test_db_url_backend_matches_its_param(db_url: str, request: pytest.FixtureRequest) -> None:
    # given the two parametrised runs, then each really uses its engine, and only PostgreSQL is
    # marked
    backend = request.node.callspec.params["db_url"]
    assert make_url(db_url).get_backend_name() == backend
    assert (request.node.get_closest_marker("postgres") is not None) == (backend == "postgresql")
