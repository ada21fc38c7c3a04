"""One statement for many rows, straight to the driver's executemany, for the fan-out's big batches.

SQLAlchemy's own executemany spends about 15 us a row building parameters; a morning tick writes
several rows for each of 100,000 families. Here a statement is compiled once per tick by
SQLAlchemy (the same SQL it would send), and each value still goes through its column type's bind
processor (the same values it would send), remembered per value: a batch shares a few instants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Table, insert
from sqlalchemy.orm import Session as DB

Processor = Callable[[Any], Any] | None


class Many:
    """Compiled statements and processed values for one tick (statements are keyed by a name)."""

    def __init__(self) -> None:
        self._compiled: dict[
            tuple[str, str], tuple[str, tuple[str, ...] | None, dict[str, Processor]]
        ] = {}
        self._processed: dict[tuple[tuple[str, str], str], dict[Any, Any]] = {}

    def insert(
        self, db: DB, name: str, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """Insert the rows (all with the same keys); the new ids, in row order.

        On SQLite the tick holds the database's write lock (BEGIN IMMEDIATE) and each row takes
        the next rowid, so the ids are the last one and the n - 1 before it. PostgreSQL hands out
        ids to concurrent writers too, so there the ids come back from a RETURNING insert.
        """
        if not rows:
            return []
        if db.get_bind().dialect.name != "sqlite":
            return list(
                db.execute(insert(table).returning(*table.primary_key.columns), rows).scalars()
            )
        self.execute(db, name, lambda: insert(table), rows)
        last = int(db.connection().exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))

    def insert_all(
        self,
        db: DB,
        name: str,
        statement: Callable[[], Executable],
        rows: Sequence[Mapping[str, Any]],
    ) -> bool:
        """On SQLite: run an INSERT ... ON CONFLICT DO NOTHING for every row, and keep it only if every
        row went in (True). Otherwise (or on another database) nothing is written and the caller
        asks which rows go in with RETURNING. Under the tick's write lock the usual answer is all.
        """
        if not rows or db.get_bind().dialect.name != "sqlite":
            return False
        db.flush()  # outside the savepoint: the ORM's own writes must never be rolled back here
        conn = db.connection()
        conn.exec_driver_sql("SAVEPOINT insert_all")
        before = int(conn.exec_driver_sql("SELECT total_changes()").scalar_one())
        self.execute(db, name, statement, rows)
        every = int(conn.exec_driver_sql("SELECT total_changes()").scalar_one()) - before == len(
            rows
        )
        if not every:
            conn.exec_driver_sql("ROLLBACK TO insert_all")
        conn.exec_driver_sql("RELEASE insert_all")
        return every

    def execute(
        self,
        db: DB,
        name: str,
        statement: Callable[[], Executable],
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        """Run `statement()` once for every row (all rows have the same keys); no result."""
        if not rows:
            return
        db.flush()  # what Session.execute does first (autoflush), so writes land in the same order
        conn = db.connection()
        key = (name, conn.dialect.name)
        if key not in self._compiled:
            compiled = statement().compile(  # type: ignore[attr-defined]
                dialect=conn.dialect, column_keys=list(rows[0]), for_executemany=True
            )
            order = tuple(compiled.positiontup) if compiled.positional else None
            processors = {
                bind: param.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
                for bind, param in compiled.binds.items()
            }
            self._compiled[key] = (compiled.string, order, processors)
        sql, order, processors = self._compiled[key]
        keys = order if order is not None else tuple(rows[0])
        processed = [(k, processors.get(k), self._processed.setdefault((key, k), {})) for k in keys]
        values = [
            [row[k] if p is None else _value(p, seen, row[k]) for k, p, seen in processed]
            for row in rows
        ]
        if order is None:
            conn.exec_driver_sql(sql, [dict(zip(keys, v, strict=True)) for v in values])
        else:
            conn.exec_driver_sql(sql, [tuple(v) for v in values])


def _value(processor: Callable[[Any], Any], seen: dict[Any, Any], value: Any) -> Any:
    """The processed value, remembered per value: a batch shares a handful of instants and days."""
    if value not in seen:
        seen[value] = processor(value)
    return seen[value]
