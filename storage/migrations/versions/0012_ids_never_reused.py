"""SQLite: a family's, an alert's and a question's number is never given to another

SQLite gives a new row the highest id plus one unless the table says AUTOINCREMENT, so erasing
the newest family handed its number to the next one to write: the audit log's entries about the
erased family then named a stranger, and a late "ACK 2" from an on-call phone acknowledged
another family's alert. PostgreSQL's sequences never give a number twice: nothing to do there.

SQLite cannot add AUTOINCREMENT to a table: each is made again with it (SQLite's own recipe:
a new table, the rows copied, the old one dropped, the new one renamed, its indexes made again),
with foreign keys off for the migration (storage/migrate.py), so dropping the old table cascades
to nothing, and checked after.

Revision ID: 0012_ids_never_reused
Revises: 0011_program_weeks
"""

from __future__ import annotations

import re

from alembic import op

revision = "0012_ids_never_reused"
down_revision = "0011_program_weeks"
branch_labels = None
depends_on = None

TABLES = ("contacts", "alerts", "questions")


def _remake(table: str, autoincrement: bool) -> None:
    conn = op.get_bind()
    (sql,) = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).one()
    indexes = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
    ]
    if autoincrement:
        made = sql.replace("id INTEGER NOT NULL,", "id INTEGER PRIMARY KEY AUTOINCREMENT,", 1)
        made = re.sub(r",\s*PRIMARY KEY \(id\)", "", made, count=1)
    else:
        made = sql.replace("id INTEGER PRIMARY KEY AUTOINCREMENT,", "id INTEGER NOT NULL,", 1)
        made = re.sub(r"\n\)$", ", \n\tPRIMARY KEY (id)\n)", made)
    if made == sql:
        raise RuntimeError(f"0012: the {table} table is not as expected: {sql}")
    new = f"_new_{table}"
    made = re.sub(rf'^CREATE TABLE "?{table}"?', f'CREATE TABLE "{new}"', made)
    columns = ", ".join(
        f'"{row[1]}"' for row in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')
    )
    conn.exec_driver_sql(made)
    conn.exec_driver_sql(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{table}"')
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for index in indexes:
        conn.exec_driver_sql(index)


def _check() -> None:
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"0012: foreign keys broken after remaking tables: {broken[:5]}")


def _foreign_keys_off() -> None:
    """Dropping a table with foreign keys on would delete every row pointing at it."""
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "0012 remakes tables, so SQLite's foreign keys must be off while it runs: use "
            "`craftbot db upgrade` (storage/migrate.py turns them off)"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _foreign_keys_off()
    for table in TABLES:
        _remake(table, autoincrement=True)
    _check()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _foreign_keys_off()
    for table in TABLES:
        _remake(table, autoincrement=False)
    _check()
