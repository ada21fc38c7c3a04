"""One statement for many rows, straight to the driver's executemany, for the fan-out's big batches.

SQLAlchemy's own executemany spends about 15 us a row building parameters; a morning tick writes
several rows for each of 100,000 families. Here a statement is compiled once per tick by
SQLAlchemy (the same SQL it would send), and each value still goes through its column type's bind
processor (the same values it would send), remembered per value: a batch shares a few instants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session as DB

Processor = Callable[[Any], Any] | None


class Many:
    """Compiled statements and processed values for one tick (statements are keyed by a name)."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str], tuple[str, tuple[str, ...] | None, dict[str, Processor]]] = {}
        self._processed: dict[tuple[object, ...], object] = {}

    def execute(self, db: DB, name: str, statement: Callable[[], Executable], rows: Sequence[Mapping[str, Any]]) -> None:
        """Run `statement()` once for every row (all rows have the same keys); no result."""
        if not rows:
            return
        db.flush()  # what Session.execute does first (autoflush), so writes land in the same order
        conn = db.connection()
        key = (name, conn.dialect.name)
        if key not in self._compiled:
            compiled = statement().compile(dialect=conn.dialect, column_keys=list(rows[0]), for_executemany=True)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup) if compiled.positional else None
            processors = {bind: param.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
                          for bind, param in compiled.binds.items()}
            self._compiled[key] = (compiled.string, order, processors)
        sql, order, processors = self._compiled[key]
        if order is None:
            params: list[Any] = [{k: self._value(key, k, v, processors.get(k)) for k, v in row.items()} for row in rows]
        else:
            params = [tuple(self._value(key, k, row[k], processors.get(k)) for k in order) for row in rows]
        conn.exec_driver_sql(sql, params)

    def _value(self, statement: tuple[str, str], bind: str, value: Any, processor: Processor) -> Any:
        if processor is None:
            return value
        memo = (statement, bind, value)
        if memo not in self._processed:
            self._processed[memo] = processor(value)
        return self._processed[memo]
