"""Storage on SQLite and PostgreSQL: schema, dedupe, unique keys, UTC times, SQLite locking, racing
first messages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session as DB

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.engine.program import CrisisPolicy
from bot.program_files import ProgramFiles
from bot.runtime import program_holder
from bot.runtime.inbound import InboundResult
from bot.settings import Settings
from storage import models as m
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from storage.migrate import alembic_config, current_revision, upgrade
from storage.queries.timers import claim_deliveries

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty database."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def programs() -> dict[object, object]:
    return {}


@pytest.fixture
def app(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, programs: dict[object, object]
) -> Iterator[App]:
    """The real app without channels; the parsed program is shared (it is immutable, and slow to
    parse)."""
    real = program_holder.load_program

    def load_once(files: ProgramFiles, crisis: CrisisPolicy | None = None) -> object:
        if (files, crisis) not in programs:
            programs[(files, crisis)] = real(files, crisis)
        return programs[(files, crisis)]

    monkeypatch.setattr(program_holder, "load_program", load_once)
    built = build(Settings(database_url=db_url), channels={}, clock=lambda: NOW)
    yield built
    built.engine.dispose()


def contact(address: str = "+15550160", channel: str = "sms") -> m.Contact:
    return m.Contact(
        channel=channel,
        address=address,
        status="active",
        locale="en",
        timezone="America/Chicago",
        lesson_time="09:00",
        checkin_time="19:00",
        paused_indefinitely=False,
        session="{}",
        created_at=NOW,
        updated_at=NOW,
    )


def count(engine: Engine, model: type[m.Base], *where: object) -> int:
    with DB(engine) as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_migrations_create_every_table_with_the_models_columns(db_url: str) -> None:
    # given an empty database
    engine = make_engine(db_url)
    try:
        # when it is migrated, twice (a release step runs on every deploy)
        upgrade(engine)
        upgrade(engine)
        # then every model's table exists with exactly the model's columns, at the newest revision
        found = inspect(engine)
        assert set(m.Base.metadata.tables) | {"alembic_version"} <= set(found.get_table_names())
        for name, table in m.Base.metadata.tables.items():
            assert {c["name"] for c in found.get_columns(name)} == set(table.columns.keys()), name
        head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
        assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_a_provider_retry_is_handled_once(app: App, engine: Engine) -> None:
    # given a first message from a new family member
    hello = InboundMessage("sms", "+15550161", "hi", "SM-retry-1")
    first = app.runtime.handle_inbound(hello, NOW)
    replies = count(engine, m.OutboundMessage)
    # when the provider delivers the same message again
    again = app.runtime.handle_inbound(hello, NOW + timedelta(seconds=30))
    # then it is a duplicate: one inbound row, and no second set of replies
    assert not first.duplicate and again.duplicate
    assert replies >= 1
    assert count(engine, m.InboundMessage) == 1
    assert count(engine, m.OutboundMessage) == replies
    # and the same provider id on another channel is a different message
    other = app.runtime.handle_inbound(InboundMessage("telegram", "4242", "hi", "SM-retry-1"), NOW)
    assert not other.duplicate


def test_one_contact_per_channel_and_address(engine: Engine) -> None:
    # given a contact on SMS
    with DB(engine) as db, db.begin():
        db.add(contact("+15550162", "sms"))
    # when the same address is added on the same channel
    with DB(engine) as db, pytest.raises(IntegrityError), db.begin():
        db.add(contact("+15550162", "sms"))
    # then it is refused, while the same string on another channel is someone else
    with DB(engine) as db, db.begin():
        db.add(contact("+15550162", "telegram"))
    assert count(engine, m.Contact) == 2


def test_no_second_lesson_on_the_same_local_day(engine: Engine) -> None:
    # given a contact who got today's lesson
    with DB(engine) as db, db.begin():
        family = contact("+15550163")
        db.add(family)
        db.flush()
        family_id = family.id
        db.add(m.Delivery(contact_id=family_id, kind="lesson", local_date=date(2026, 3, 2), at=NOW))
    # when a second lesson for the same local day is recorded
    with DB(engine) as db, pytest.raises(IntegrityError), db.begin():
        db.add(
            m.Delivery(
                contact_id=family_id,
                kind="lesson",
                local_date=date(2026, 3, 2),
                at=NOW + timedelta(hours=1),
            )
        )
    # then the key refuses it; the scheduler's claim says no for that day and yes for others
    with DB(engine) as db, db.begin():
        for kind, day, ours in (
            ("lesson", date(2026, 3, 2), False),
            ("checkin", date(2026, 3, 2), True),
            ("lesson", date(2026, 3, 3), True),
        ):
            claim = (family_id, kind, day)
            assert (claim_deliveries(db, [claim], NOW) == {claim}) is ours
    assert count(engine, m.Delivery) == 3


def test_times_go_in_aware_and_come_back_in_utc(engine: Engine) -> None:
    with DB(engine) as db, db.begin():
        family = contact("+15550164")
        db.add(family)
        db.flush()
        family_id = family.id
    # when a naive time is stored
    with DB(engine) as db, pytest.raises(StatementError, match="naive datetime"), db.begin():
        db.add(
            m.Checkin(
                contact_id=family_id,
                value="use",
                local_date=date(2026, 3, 1),
                at=datetime(2026, 3, 1, 19),
            )
        )
    # then it is refused; an aware local time comes back as the same instant, in UTC
    evening = datetime(2026, 3, 1, 19, 30, 15, 123456, tzinfo=ZoneInfo("America/Chicago"))
    with DB(engine) as db, db.begin():
        db.add(
            m.Checkin(contact_id=family_id, value="non_use", local_date=evening.date(), at=evening)
        )
    with DB(engine) as db:
        stored = db.scalars(select(m.Checkin.at)).one()
    assert stored == evening
    assert stored.tzinfo is UTC
    assert stored.hour == 1  # 19:30 CST is 01:30 UTC the next day


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_a_second_sqlite_writer_waits_instead_of_failing(tmp_path: Path) -> None:
    # given one writer holding the write lock for a moment
    engine = make_engine(f"sqlite:///{tmp_path}/locks.db")
    upgrade(engine)
    holding = threading.Event()

    def slow_writer() -> None:
        with DB(engine) as db, db.begin():
            db.add(contact("+15550165"))
            db.flush()
            holding.set()
            time.sleep(0.4)

    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(slow_writer)
            assert holding.wait(5)
            # when a second writer starts meanwhile
            started = time.monotonic()
            with DB(engine) as db, db.begin():
                db.add(contact("+15550166"))
            waited = time.monotonic() - started
            first.result()
        # then it waited its turn, and both rows are there
        assert waited >= 0.2
        assert count(engine, m.Contact) == 2
    finally:
        engine.dispose()


def at_once(calls: list[Callable[[], InboundResult]]) -> list[InboundResult]:
    """Run the calls in threads released together by a barrier; re-raise what any of them raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], InboundResult]) -> InboundResult:
        barrier.wait(5)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


def test_two_first_messages_at_once_make_one_contact(app: App, engine: Engine) -> None:
    for n in range(4):
        address = f"+155501{70 + n}"
        # when a new family member's first two messages are handled at the same moment
        results = at_once(
            [
                partial(
                    app.runtime.handle_inbound,
                    InboundMessage("sms", address, "hi", f"SM-race-{n}-a"),
                    NOW,
                ),
                partial(
                    app.runtime.handle_inbound,
                    InboundMessage("sms", address, "hello?", f"SM-race-{n}-b"),
                    NOW,
                ),
            ]
        )
        # then both are handled, for one and the same contact
        assert [r.duplicate for r in results] == [False, False]
        assert results[0].contact_id == results[1].contact_id is not None
        assert count(engine, m.Contact, m.Contact.address == address) == 1
        assert (
            count(engine, m.InboundMessage, m.InboundMessage.contact_id == results[0].contact_id)
            == 2
        )


def test_the_same_message_twice_at_once_is_handled_once(app: App, engine: Engine) -> None:
    # when a provider's retry arrives while the first delivery is still being handled
    hello = InboundMessage("sms", "+15550180", "hi", "SM-race-dup")
    results = at_once([partial(app.runtime.handle_inbound, hello, NOW)] * 2)
    # then exactly one of them counts
    assert sorted(r.duplicate for r in results) == [False, True]
    assert count(engine, m.InboundMessage) == 1
