"""SQLite's one writer: transactions queue, within a process and across processes, and always give
the writer back (storage/sqlite_writer.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session as DB

from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from storage.sqlite_writer import WriterQueue
from tests.test_storage import contact, count


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/lock.db")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_failed_transaction_lets_the_next_writer_in_at_once(engine: Engine) -> None:
    # given a transaction that raised half way and was rolled back
    with pytest.raises(RuntimeError), DB(engine) as db, db.begin():
        db.add(contact("+15550170"))
        db.flush()
        raise RuntimeError("the handler failed")

    # when another thread writes
    def write() -> float:
        started = time.monotonic()
        with DB(engine) as db, db.begin():
            db.add(contact("+15550171"))
        return time.monotonic() - started

    with ThreadPoolExecutor(1) as pool:
        took = pool.submit(write).result(timeout=10)
    # then it did not wait, and only its row is there
    assert took < 1.0
    assert count(engine, m.Contact) == 1


def test_writers_in_one_process_queue_in_process_not_in_sqlites_busy_handler(
    engine: Engine,
) -> None:
    # given SQLite's busy handler turned off, so a writer that met SQLite's lock would fail at once
    @event.listens_for(engine, "connect")
    def no_busy_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    engine.dispose()
    holding = threading.Event()

    def slow_writer() -> None:
        with DB(engine) as db, db.begin():
            db.add(contact("+15550173"))
            db.flush()
            holding.set()
            time.sleep(0.3)

    def second_writer() -> None:
        with DB(engine) as db, db.begin():
            db.add(contact("+15550174"))

    # when a second thread writes while the first holds the writer
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(slow_writer)
        assert holding.wait(5)
        second = pool.submit(second_writer)
        first.result(timeout=10)
        second.result(timeout=10)  # raised "database is locked" before the in-process lock
    # then both rows are there
    assert count(engine, m.Contact) == 2


def test_a_connection_closed_without_commit_gives_the_lock_back(engine: Engine) -> None:
    # given a connection that began a transaction and was closed without commit
    with engine.connect() as conn:
        conn.execute(select(1))

    # when another thread writes
    def write() -> None:
        with DB(engine) as db, db.begin():
            db.add(contact("+15550172"))

    with ThreadPoolExecutor(1) as pool:
        pool.submit(write).result(timeout=10)
    # then it went through
    assert count(engine, m.Contact) == 1


HOLDER = """
import sys, time
from sqlalchemy.orm import Session as DB
from storage.db import make_engine
from tests.test_storage import contact
engine = make_engine(sys.argv[1])
with DB(engine) as db, db.begin():
    db.add(contact("+15550175"))
    db.flush()
    print("holding", flush=True)
    time.sleep(0.5)
print("committed", flush=True)
"""


def test_a_writer_in_another_process_queues_instead_of_meeting_sqlites_lock(
    engine: Engine, tmp_path: Path
) -> None:
    # given another process (a worker, say) in the middle of a write transaction
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(engine.url)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"

        # and SQLite's busy handler off here, so meeting SQLite's lock would fail at once
        @event.listens_for(engine, "connect")
        def no_busy_wait(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=0")

        engine.dispose()
        # when this process writes
        with DB(engine) as db, db.begin():
            db.add(contact("+15550176"))
        # then it waited its turn (the other process had committed first) and both rows are there
        assert holder.stdout.readline().strip() == "committed"
    assert holder.returncode == 0
    assert count(engine, m.Contact) == 2


def test_a_writer_that_waits_past_the_timeout_goes_on_to_sqlites_own_busy_handler(
    tmp_path: Path,
) -> None:
    # given one writer holding the queue of a database file
    first = WriterQueue(str(tmp_path / "q.db"), timeout_s=5)
    second = WriterQueue(str(tmp_path / "q.db"), timeout_s=0.05)  # another process's queue
    assert first.acquire()
    # when another waits longer than its timeout, then it is told so, holding nothing
    assert not second.acquire()
    # and once the first gives the writer back, the other's turn comes
    first.release()
    assert second.acquire()
    second.release()


def test_a_folder_without_room_for_the_queue_file_still_writes(tmp_path: Path) -> None:
    # given a database whose folder cannot take the queue's file
    queue = WriterQueue(str(tmp_path / "missing-folder" / "q.db"), timeout_s=1)
    # then writers still take turns within the process, and SQLite's own lock does the rest
    assert queue.acquire()
    queue.release()
    assert queue.acquire()
    queue.release()
