"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


MEMO_SIZE = 4096  # distinct values remembered per statement before the memo starts afresh


def _memoised(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, remembering its answers: a tick's rows share a handful of instants (its own
    time, each zone's next slot), and converting one costs more than looking it up. Only a
    conversion that succeeded is remembered, so a naive datetime is refused every time."""
    memo: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            pass
        converted = convert(value)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[value] = converted
        return converted

    return process


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, always hands back aware UTC; refuses naive datetimes going in."""

    impl = DateTime
    cache_ok = True

    # SQLAlchemy asks once per compiled statement and dialect; each answer gets its own memo.
    # Equal aware datetimes are the same instant, so they convert alike whatever their zone.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        convert = super().bind_processor(dialect)
        return _memoised(convert) if convert is not None else None

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        convert = super().result_processor(dialect, coltype)
        return _memoised(convert) if convert is not None else None

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r} given to the database: pass an aware UTC time"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
