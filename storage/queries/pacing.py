"""A channel's sending slots, booked by every process through one row (channel_pace).

Times are the database's clock in seconds since the epoch, so processes on different hosts agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Table, func, literal_column, update

from storage import models as m
from storage.db import DB
from storage.queries.dialect import dialect_of, insert_ignoring

PACE: Table = m.ChannelPace.__table__  # type: ignore[assignment]


def _now(dialect: str) -> Any:
    if dialect == "sqlite":  # one 'now' for the whole statement, to the millisecond
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)
    return func.extract("epoch", func.clock_timestamp())


def book(db: DB, channel: str, slots: int, gap: float, lead: float = 0.0) -> tuple[float, float]:
    """Book `slots` slots `gap` seconds apart on `channel`, after every slot booked before and
    no sooner than `lead` seconds from now (the time the answer takes to reach its process):
    (the first slot, now)."""
    dialect = dialect_of(db)
    now = _now(dialect)
    later = (func.max if dialect == "sqlite" else func.greatest)(PACE.c.next_at, now + lead)
    stmt = (
        update(PACE)
        .where(PACE.c.channel == channel)
        .values(next_at=later + slots * gap)
        .returning(PACE.c.next_at, now)
    )
    row = db.execute(stmt).first()
    if row is None:  # the channel's first send ever
        db.execute(insert_ignoring(dialect, PACE), {"channel": channel, "next_at": 0.0})
        row = db.execute(stmt).one()
    next_at, at = float(row[0]), float(row[1])
    return next_at - slots * gap, at
