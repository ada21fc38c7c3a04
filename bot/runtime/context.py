"""What every runtime piece needs, built once by the app builder and passed in (no globals)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime.program_holder import ProgramHolder
from bot.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


def settings_clock(settings: Settings) -> Callable[[], datetime]:
    """Real UTC time, or the moved clock CLOCK_START / CLOCK_ANCHOR / CLOCK_SPEED describe."""
    if not settings.clock_start and settings.clock_speed == 1:
        return utc_now
    start = (
        datetime.fromisoformat(settings.clock_start.replace("Z", "+00:00"))
        if settings.clock_start
        else utc_now()
    )
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    anchor = settings.clock_anchor or time.time()
    speed = settings.clock_speed

    def moved() -> datetime:
        return start + timedelta(seconds=(time.time() - anchor) * speed)

    return moved


@contextmanager
def _savepoint(connection: Connection) -> Iterator[Connection]:
    with connection.begin_nested():
        yield connection


@dataclass
class Context:
    settings: Settings
    program: ProgramHolder
    db: sessionmaker[Session]
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)

    @property
    def engine(self) -> Engine:
        """The engine behind `db`."""
        bind = self.db.kw["bind"]
        engine: Engine = bind.engine if isinstance(bind, Connection) else bind
        return engine

    def transaction(self) -> AbstractContextManager[Connection]:
        """One transaction of the runtime's own statements, committed on leaving (rolled back on
        an exception). A Core connection, not an ORM session: the runtime's statements are all
        Core (storage/queries) and it holds no mapped objects, so a session's unit of work only
        cost time (about 100-150 us a transaction).

        When `db` is bound to a connection already in a transaction (a CLI dry run,
        bot/cli/admin_cmds.py), each transaction is a savepoint of it, as each session is there."""
        bind = self.db.kw["bind"]
        return _savepoint(bind) if isinstance(bind, Connection) else bind.begin()

    def real_seconds(self, seconds: float) -> timedelta:
        """A span of real time on this clock: a lease or a provider's Retry-After lasts as long in
        the world however fast a moved clock runs (CLOCK_SPEED)."""
        return timedelta(seconds=seconds * self.settings.clock_speed)
