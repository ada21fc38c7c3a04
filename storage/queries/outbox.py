"""The outbox after commit: the dispatcher's claims and outcomes, provider delivery reports.

Claims and outcomes read and write columns with Core statements, never ORM objects: on SQLite
every transaction holds the one write lock (BEGIN IMMEDIATE), and a crisis reply from the web
process waits for it, so these transactions must be short (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Table,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)

from storage import models as m
from storage.db import DB
from storage.queries.dialect import dialect_of, insert_ignoring
from storage.queries.records import OUTBOX

REPORTS: Table = m.ProviderEvent.__table__  # type: ignore[assignment]
_o = OUTBOX.c
# Crisis replies to families first, then crisis notices to staff (no family), then the rest;
# oldest first within each: a family's emergency reply is never claimed after a staff notice.
FIRST = (
    case(
        ((_o.kind == "crisis") & _o.contact_id.is_not(None), 0),
        (_o.kind == "crisis", 1),
        else_=2,
    ),
    _o.id,
)
# What the dispatcher reads of a row it may claim, in this order.
CLAIMABLE = (
    *(_o.id, _o.channel, _o.address, _o.text, _o.subject, _o.kind, _o.status, _o.contact_id),
    *(_o.in_reply_to, _o.created_at, _o.expires_at),
    _o.media,
)
_IN_FLIGHT = _o.status == "sending"  # what an outcome may change: not a row cancelled meanwhile
_BY_ID = _o.id == bindparam("row_id")
_KEEP_PROVIDER_ID: ColumnElement[str | None] = func.coalesce(
    bindparam("provider_id"), _o.provider_id
)


def _due(now: ColumnElement[datetime], channels: ColumnElement[Any]) -> tuple[Any, ...]:
    """Rows due at `now` on these channels: queued, or claimed by a worker whose lease ran out."""
    return (
        _o.channel.in_(channels),
        or_(_o.status == "queued", (_o.status == "sending") & (_o.claimed_until < now)),
        _o.not_before <= now,
    )


# The claim's statements are built once, with parameters: building a Core statement and its
# cache key costs more than running it (about 1 ms a claim), and the web process claims the
# replies of every group of webhooks.
_NOW = bindparam("now", type_=_o.not_before.type)
_DUE = _due(_NOW, bindparam("channels", expanding=True))
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_LIMIT = bindparam("limit", type_=Integer)
_DUE_IDS = select(_o.id).where(*_DUE).order_by(*FIRST).limit(_LIMIT)
_CLAIMABLE = (
    select(*CLAIMABLE).where(*_DUE).order_by(*FIRST).limit(_LIMIT).with_for_update(skip_locked=True)
)
_CLAIMABLE_OF = _CLAIMABLE.where(_o.id.in_(_IDS))
_MARK_SENDING = (
    update(OUTBOX)
    .where(_o.id.in_(_IDS))
    .values(
        status="sending",
        claimed_until=bindparam("until", type_=_o.claimed_until.type),
        attempts=_o.attempts + 1,
    )
)
_ATTEMPTS = select(_o.id, _o.attempts, _o.contact_id, _o.kind, _o.expires_at).where(_o.id.in_(_IDS))
_FORGET_GOODBYES = (
    update(OUTBOX)
    .where(_o.id.in_(_IDS), _o.contact_id.is_(None), _o.kind == "compliance")
    .values(address="", text="", subject=None)
)


def due_ids(conn: Connection, now: datetime, channels: Sequence[str], limit: int) -> list[int]:
    """The ids of due rows, crisis first then oldest, read without a lock (from a snapshot)."""
    return list(conn.scalars(_DUE_IDS, {"now": now, "channels": list(channels), "limit": limit}))


def claimable(
    db: DB,
    now: datetime,
    channels: Sequence[str],
    limit: int,
    ids: Iterable[int] | None = None,
) -> Sequence[Sequence[Any]]:
    """Due rows (of `ids`, if given), crisis first, locked: the columns of CLAIMABLE."""
    values: dict[str, Any] = {"now": now, "channels": list(channels), "limit": limit}
    if ids is None:
        return db.execute(_CLAIMABLE, values).all()
    return db.execute(_CLAIMABLE_OF, {**values, "ids": list(ids)}).all()


def mark_suppressed(db: DB, ids: Sequence[int]) -> None:
    """Rows never to send: their family opted out after they were written."""
    if ids:
        values = {"status": "cancelled", "reason": "opted_out"}
        db.execute(update(OUTBOX).where(_o.id.in_(list(ids))).values(**values))


def mark_expired(db: DB, ids: Sequence[int]) -> None:
    """Rows worth nothing any more (a lesson after its day): never sent."""
    if ids:
        values = {"status": "expired", "reason": "day_over"}
        db.execute(update(OUTBOX).where(_o.id.in_(list(ids))).values(**values))


def expire_past_their_day(db: DB, now: datetime) -> int:
    """Rows past their expiry that nobody is sending (queued, or claimed by a worker whose lease
    ran out), whatever their channel: a channel that is off or down is never claimed, so its
    rows would otherwise never end. How many."""
    lapsed = or_(
        _o.status == "queued",
        (_o.status == "sending") & (_o.claimed_until < now),
    )
    result = db.execute(
        update(OUTBOX)
        .where(lapsed, _o.expires_at.is_not(None), _o.expires_at <= now)
        .values(status="expired", reason="day_over", claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def give_back(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Claimed rows the last look held (rows: row_id, until): queued again for `until`, their
    attempt not counted (nothing was tried); a row cancelled meanwhile stays cancelled."""
    if rows:
        db.execute(
            update(OUTBOX)
            .where(_BY_ID, _IN_FLIGHT)
            .values(
                status="queued",
                claimed_until=None,
                attempts=func.greatest(_o.attempts - 1, 0)
                if dialect_of(db) != "sqlite"
                else func.max(_o.attempts - 1, 0),
                not_before=bindparam("until"),
            ),
            rows,
        )


_c = m.Contact.__table__.c
# What the last look before a send reads of a claimed row and its family, in this order.
LAST_LOOK = (
    *(_o.id, _o.status, _o.kind, _o.in_reply_to, _o.created_at, _o.expires_at),
    *(_c.status, _c.timezone, _c.quiet_start, _c.quiet_end),
)


def last_look(db: DB | Connection, ids: Sequence[int]) -> Sequence[Sequence[Any]]:
    """These rows as they are now, with their family's status and quiet hours (the columns of
    LAST_LOOK; a family's columns are None for a row to staff); a row erased since is missing."""
    if not ids:
        return []
    query = (
        select(*LAST_LOOK)
        .select_from(OUTBOX.outerjoin(m.Contact.__table__, _c.id == _o.contact_id))
        .where(_o.id.in_(list(ids)))
    )
    return db.execute(query).all()


def claimed_ahead(db: DB, now: datetime, channels: Sequence[str]) -> dict[str, int]:
    """Rows claimed and not yet recorded, per channel, by workers whose lease still runs: what
    every process together has taken to send soon."""
    query = (
        select(_o.channel, func.count())
        .where(
            _o.status == "sending",
            _o.claimed_until >= now,
            _o.kind != "crisis",
            _o.channel.in_(list(channels)),
        )
        .group_by(_o.channel)
    )
    return {str(channel): int(n) for channel, n in db.execute(query)}


def hold(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Move rows to later (rows: row_id, until): their family's quiet hours began."""
    if rows:
        db.execute(update(OUTBOX).where(_BY_ID).values(not_before=bindparam("until")), rows)


def mark_sending(db: DB, ids: Sequence[int], lease_until: datetime) -> None:
    """Claimed: this worker sends them; another may take them again after `lease_until`."""
    if ids:
        db.execute(_MARK_SENDING, {"ids": list(ids), "until": lease_until})


def attempts_of(
    db: DB, ids: Sequence[int]
) -> dict[int, tuple[int, int | None, str, datetime | None]]:
    """(attempts, contact id, kind, expires at) of these rows, by id."""
    rows = db.execute(_ATTEMPTS, {"ids": list(ids)})
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


# The provider's report on this very send came before the send was recorded (its status
# callback can be that quick): what it said stands.
_REPORTED_FIRST = (_o.provider_id == bindparam("provider_id")) & or_(
    *(_o.status == status for status in ("delivered", "read", "failed"))  # no IN: executemany
)


def mark_sent(db: DB, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Sent (rows: row_id, provider_id). A row cancelled while its provider call was under way
    (a STOP that came a moment too late) was sent all the same, and says so: no reason kept.
    A row the provider already reported on, under the same id, keeps what the report said."""
    if rows:
        values = {
            "status": case((_REPORTED_FIRST, _o.status), else_="sent"),
            "provider_id": _KEEP_PROVIDER_ID,
            "sent_at": now,
            "reason": case((_REPORTED_FIRST, _o.reason), else_=None),
            "last_error": case((_REPORTED_FIRST, _o.last_error), else_=None),
        }
        db.execute(update(OUTBOX).where(_BY_ID).values(**values), rows)


def forget_goodbyes(db: DB, ids: Sequence[int]) -> None:
    """Of these rows, those that are no family's and not a staff notice (the confirmation after a
    family erased their data): their address and words are cleared."""
    if ids:
        db.execute(_FORGET_GOODBYES, {"ids": list(ids)})


def mark_final(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Never to be tried again (rows: row_id, status, reason, provider_id, error); a row
    cancelled while it was being sent stays cancelled."""
    if rows:
        db.execute(
            update(OUTBOX)
            .where(_BY_ID, _IN_FLIGHT)
            .values(
                status=bindparam("status"),
                reason=bindparam("reason"),
                provider_id=_KEEP_PROVIDER_ID,
                last_error=bindparam("error"),
            ),
            rows,
        )


def requeue(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queued again (rows: row_id, error, attempts, not_before; a None not_before keeps it),
    unless cancelled while it was being sent."""
    if rows:
        not_before = bindparam("not_before", type_=_o.not_before.type)
        db.execute(
            update(OUTBOX)
            .where(_BY_ID, _IN_FLIGHT)
            .values(
                status="queued",
                claimed_until=None,
                last_error=bindparam("error"),
                attempts=bindparam("attempts"),
                not_before=func.coalesce(not_before, _o.not_before),
            ),
            rows,
        )


def pending_count(db: DB) -> int:
    query = select(func.count()).select_from(OUTBOX).where(_o.status.in_(("queued", "sending")))
    return int(db.execute(query).scalar_one())


def first_report(db: DB, provider: str, key: str, now: datetime) -> bool:
    """Record a provider's report by its key; False when it came before (providers repeat)."""
    stmt = insert_ignoring(dialect_of(db), REPORTS, ("provider",))
    row = db.execute(stmt, {"provider": provider, "key": key[:255], "at": now}).first()
    return row is not None


# (id, status, contact id, channel, kind) of a row found by its provider id
ProviderRow = tuple[int, str, int | None, str, str]


def status_by_provider_id(db: DB, provider_id: str, channel: str) -> ProviderRow | None:
    """(id, status, contact id, channel, kind) of the row of this channel the provider knows by
    this id (ids are the provider's own: another channel's may look the same)."""
    query = select(_o.id, _o.status, _o.contact_id, _o.channel, _o.kind).where(
        _o.provider_id == provider_id, _o.channel == channel
    )
    row = db.execute(query).first()
    return (row[0], row[1], row[2], row[3], row[4]) if row else None


def take_provider_id(db: DB, row_id: int, provider_id: str, accepted: bool, now: datetime) -> None:
    """The provider's id for a row that does not know it yet, named by the provider's report.

    In flight, its report came before the send was recorded, and must find the row (the
    recording keeps what it says). Queued again, the provider took an earlier attempt whose
    answer never reached us (a timeout): if the report says it was `accepted`, the row is sent,
    and not sent a second time."""
    named = update(OUTBOX).where(_o.id == row_id, _o.provider_id.is_(None))
    db.execute(named.where(_IN_FLIGHT).values(provider_id=provider_id[:255]))
    if accepted:
        db.execute(
            named.where(_o.status == "queued").values(
                provider_id=provider_id[:255],
                status="sent",
                sent_at=now,
                claimed_until=None,
                reason=None,
                last_error=None,
            )
        )


def refs_of(db: DB, row_id: int) -> tuple[str | None, int | None, str, str] | None:
    """(provider id, contact id, channel, address) of one row, or None when there is none."""
    query = select(_o.provider_id, _o.contact_id, _o.channel, _o.address).where(_o.id == row_id)
    row = db.execute(query).first()
    return (row[0], row[1], row[2], row[3]) if row else None


def set_status(
    db: DB, row_id: int, status: str, detail: str = "", reason: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status}
    if reason is not None:
        values["reason"] = reason
    if detail:
        values["last_error"] = detail[:500]
    db.execute(update(OUTBOX).where(_o.id == row_id).values(**values))


def forget_reports_before(db: DB, cutoff: datetime) -> None:
    """Provider report keys older than any repeat a provider sends."""
    db.execute(delete(REPORTS).where(REPORTS.c.at < cutoff))


# A family's crisis reply still being tried, whose lateness staff were told of (its `reason`
# while queued; sending it clears it, a final failure replaces it).
LATE_TOLD = "late_staff_told"


def late_crisis_replies(
    db: DB, written_before: datetime, limit: int = 100
) -> list[tuple[int, int, str | None]]:
    """Families' crisis replies written before `written_before` and still not sent, that staff
    were not told of yet: (row id, contact id, last error), oldest first."""
    rows = db.execute(
        select(_o.id, _o.contact_id, _o.last_error)
        .where(
            _o.kind == "crisis",
            _o.contact_id.is_not(None),
            _o.status.in_(("queued", "sending")),
            _o.created_at < written_before,
            _o.reason.is_(None),
        )
        .order_by(_o.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # several workers: each row is told of once
    ).all()
    return [(row_id, contact_id, error) for row_id, contact_id, error in rows]


def mark_late_told(db: DB, ids: Sequence[int]) -> None:
    if ids:
        db.execute(update(OUTBOX).where(_o.id.in_(list(ids))).values(reason=LATE_TOLD))
