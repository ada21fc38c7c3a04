"""Retention: erasing the words of what is older than RETENTION_DAYS, a batch at a time.

Only the text goes (set to ""): the rows stay, with their times, kinds, statuses and catalog ids,
so the stats and the family's timeline keep their shape. A message still waiting to be sent keeps
its words; an alert keeps its words until it has been closed for the whole retention time; the
audit log keeps who did what, and loses the notes staff wrote in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Table, and_, or_, select, update
from sqlalchemy.sql import ColumnElement

from storage import models as m
from storage.db import DB

UNSENT = ("queued", "sending")  # the dispatcher still needs these words


@dataclass(frozen=True)
class _Kept:
    """One table's text columns and which of its rows are past retention at a cutoff."""

    table: Table
    columns: tuple[str, ...]
    due: Any  # (cutoff) -> the condition a row past retention meets


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


_IN, _OUT, _AL, _Q = (_table(t) for t in (m.InboundMessage, m.OutboundMessage, m.Alert, m.Question))
_NOTES, _AUDIT = _table(m.AlertNote), _table(m.AuditEntry)
# The audit entries whose detail is a note staff wrote; the others name ids and roles.
NOTED = ("alert.note", "alert.close", "question.close")

KEPT = (
    _Kept(_IN, ("text",), lambda cut: _IN.c.received_at < cut),
    _Kept(
        _OUT,
        ("text", "subject", "media"),
        lambda cut: and_(_OUT.c.created_at < cut, _OUT.c.status.not_in(UNSENT)),
    ),
    _Kept(_Q, ("text", "answer"), lambda cut: and_(_Q.c.asked_at < cut, _Q.c.status != "open")),
    _Kept(
        _AL,
        ("matched", "text", "close_note"),
        lambda cut: and_(_AL.c.status == "closed", _AL.c.closed_at < cut),
    ),
    _Kept(
        _NOTES,
        ("text",),
        lambda cut: _NOTES.c.alert_id.in_(
            select(_AL.c.id).where(_AL.c.status == "closed", _AL.c.closed_at < cut)
        ),
    ),
    _Kept(_AUDIT, ("detail",), lambda cut: and_(_AUDIT.c.at < cut, _AUDIT.c.action.in_(NOTED))),
)


def erase_batch(db: DB, kept: _Kept, cutoff: datetime, size: int) -> int:
    """Erase the words of up to `size` rows of one table past retention; how many were erased."""
    table = kept.table
    words: list[ColumnElement[bool]] = [
        and_(table.c[name].is_not(None), table.c[name] != "") for name in kept.columns
    ]
    ids = (
        select(table.c.id)
        .where(kept.due(cutoff), or_(*words))
        .order_by(table.c.id)
        .limit(size)
        .scalar_subquery()
    )
    blank = {name: ("" if not table.c[name].nullable else None) for name in kept.columns}
    result = db.execute(update(table).where(table.c.id.in_(ids)).values(blank))
    return int(_rowcount(result))


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
