"""Re-encrypting stored text with the first DATA_KEYS key, a batch at a time: what
`craftbot keys rotate` does while the bot runs, and how the encryption migration converted the
rows written before it.

A row already under the first key is skipped, so a run that stopped half way simply runs again.
Each row is rewritten only if it still holds what was read (compare and set): a value the bot
wrote meanwhile is newer, and already under the first key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, MetaData, Text, bindparam, column, select, table, update
from sqlalchemy.sql import type_coerce

from storage.crypto import Cipher
from storage.types import EncryptedText


@dataclass(frozen=True)
class Batch:
    """One batch of one column: rows read, rows rewritten, and the last id read (None: done)."""

    table: str
    column: str
    read: int
    renewed: int
    last_id: int | None


def encrypted_columns(metadata: MetaData) -> list[tuple[str, str]]:
    """Every (table, column) whose type is EncryptedText, in a stable order."""
    return [
        (t.name, c.name)
        for t in metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, EncryptedText)
    ]


def renew_batch(
    conn: Connection, cipher: Cipher, table_name: str, column_name: str, after_id: int, size: int
) -> Batch:
    """Re-encrypt up to `size` rows of one column with ids above `after_id`."""
    t = table(table_name, column("id"), column(column_name, Text))
    raw = t.c[column_name]
    rows = conn.execute(
        select(t.c.id, raw)
        .where(t.c.id > after_id, raw.is_not(None), raw != "")
        .order_by(t.c.id)
        .limit(size)
    ).all()
    changes: list[dict[str, Any]] = [
        {"b_id": id_, "b_old": stored, "b_new": cipher.renew(stored)}
        for id_, stored in rows
        if not cipher.is_current(stored)
    ]
    if changes:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"), raw == bindparam("b_old"))
            .values({column_name: type_coerce(bindparam("b_new"), Text)}),
            changes,
        )
    last = rows[-1][0] if len(rows) == size else None
    return Batch(table_name, column_name, len(rows), len(changes), last)


def renew_column(
    conn: Connection, cipher: Cipher, table_name: str, column_name: str, size: int = 1000
) -> Iterator[Batch]:
    """Every batch of one column on this connection (one transaction: the migration's way)."""
    after = 0
    while True:
        batch = renew_batch(conn, cipher, table_name, column_name, after, size)
        yield batch
        if batch.last_id is None:
            return
        after = batch.last_id
