"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Date, DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.crypto import Cipher

T = TypeVar("T")
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


class _Remembering(TypeDecorator[T]):
    """A column type whose conversions go through `_memoised` (SQLAlchemy asks once per
    compiled statement and dialect; each answer gets its own memo)."""

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        convert = super().bind_processor(dialect)
        return _memoised(convert) if convert is not None else None

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        convert = super().result_processor(dialect, coltype)
        return _memoised(convert) if convert is not None else None


class UTCDateTime(_Remembering[datetime]):
    """Stores naive UTC, always hands back aware UTC; refuses naive datetimes going in. Equal
    aware datetimes are the same instant, so they convert alike whatever their zone."""

    impl = DateTime
    cache_ok = True

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


class LocalDate(_Remembering[date]):
    """A family's local day (Date): a tick's rows share a day or two, and SQLite's conversion
    parses or formats text every row."""

    impl = Date
    cache_ok = True


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest; callers read and write plain str.

    The cipher is the engine's (`storage.db.make_engine` sets `dialect.data_cipher` from
    DATA_KEYS), so no key lives in a module. Empty text is stored empty. Equality and LIKE on
    such a column compare ciphertexts: never filter on one except against ''.
    """

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        self.length = length  # the longest text a caller may store (a token is longer)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_of(dialect).encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_of(dialect).decrypt(value)


def cipher_of(dialect: Dialect) -> Cipher:
    """The cipher `make_engine` gave this engine (the encrypted columns and rotation use it)."""
    cipher = getattr(dialect, "data_cipher", None)
    if cipher is None:
        raise RuntimeError("an encrypted column used on an engine not made by make_engine")
    return cast(Cipher, cipher)
