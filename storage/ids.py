"""Row ids that come from outside: a signed link's payload, a staff member's "ACK 42", a console
path, a provider echoing our outbox id.

Every table's id is a 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER). A number beyond it
names no row, and handing it to the database is an error of the driver (SQLite's OverflowError,
psycopg's NumericValueOutOfRange), a 500, not "no such row". So whatever reads an id from outside
asks `fits` first, and treats one that does not fit as one that does not exist.
"""

from __future__ import annotations

MAX_ROW_ID = 2**63 - 1
# Digits a path segment may have to be a row id: 18 nines still fit, and no table gets near it.
ROW_ID_DIGITS = 18


def fits(row_id: int) -> bool:
    """Could a row have this id (1 up to the 64-bit limit)?"""
    return 0 < row_id <= MAX_ROW_ID
