"""Row ids that come from outside: a signed link's payload, a staff member's "ACK 42", a console
path, a provider echoing our outbox id.

Every table's id is a 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER). A number beyond it
names no row, and handing it to the database is an error of the driver (SQLite's OverflowError,
psycopg's NumericValueOutOfRange), a 500, not "no such row". So whatever reads an id from outside
asks `fits` first, and treats one that does not fit as one that does not exist. Digits read
from outside go through `parse`: Python's `int()` refuses a string of thousands of digits
outright (a ValueError, another 500), so their length is checked before they are read.
"""

from __future__ import annotations

MAX_ROW_ID = 2**63 - 1
# Digits a path segment may have to be a row id: 18 nines still fit, and no table gets near it.
ROW_ID_DIGITS = 18


def fits(row_id: int) -> bool:
    """Could a row have this id (1 up to the 64-bit limit)?"""
    return 0 < row_id <= MAX_ROW_ID


def parse(text: str) -> int | None:
    """The row id written in `text` (ASCII digits, nothing else), or None when it is not one or
    no row could have it."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > ROW_ID_DIGITS + 1:
        return None
    value = int(digits)
    return value if fits(value) else None


def shown(text: str) -> str:
    """`text` as an answer may quote it back: whole if short, else its start (an 'id' of
    thousands of digits is not repeated in full)."""
    return text if len(text) <= 40 else f"{text[:20]}..."
