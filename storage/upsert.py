"""Atomic 'first one wins' inserts and upserts, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT for `table` that knows ON CONFLICT on this database dialect ("postgresql" or "sqlite")."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dialect_insert(db: Session, table: Table) -> Any:
    """`insert_for` the database this session is bound to."""
    return insert_for(db.get_bind().dialect.name, table)


def insert_ignore(
    db: Session, table: Table, values: Mapping[str, Any], returning: str | None = None
) -> Any:
    """Insert unless a unique key already has the row. Returns the `returning` column (or True), else None."""
    stmt = dialect_insert(db, table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount, says whether the row went in: SQLAlchemy 2.1 on psycopg reports
    # rowcount -1 (truthy) for these inserts, so "already there" looked like "inserted" on PostgreSQL.
    column = table.c[returning] if returning else next(iter(table.primary_key.columns))
    row = db.execute(stmt.returning(column)).first()
    if row is None:
        return None
    return row[0] if returning else True


def insert_ignore_statement(dialect: str, table: Table, returning: str) -> Any:
    """A reusable insert-unless-the-unique-key-has-it, RETURNING one column; execute it with a dict of values.

    Built once and reused, it skips building and cache-keying a statement per call (about 0.3 ms).
    """
    return insert_for(dialect, table).on_conflict_do_nothing().returning(table.c[returning])


def upsert(db: Session, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> None:
    db.execute(upsert_statement(db, table, keys, list(values)).values(**values))


def upsert_statement(db: Session, table: Table, keys: Sequence[str], columns: Sequence[str]) -> Any:
    """Insert, or on a clash of `keys` update `columns` (keys excepted); execute with one dict or many."""
    stmt = dialect_insert(db, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: stmt.excluded[k] for k in columns if k not in keys}
    )
