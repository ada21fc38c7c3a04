"""The families (table `contacts`) and their inbound messages: find, lock, add, update."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update

from storage import models as m
from storage.db import DB
from storage.queries.dialect import dialect_of, insert_ignoring

CONTACTS: Table = m.Contact.__table__  # type: ignore[assignment]
INBOUND: Table = m.InboundMessage.__table__  # type: ignore[assignment]
_c = CONTACTS.c
# What a turn reads of a family, in this order (bot/runtime/family.py builds its value from it).
FAMILY = (
    _c.id,
    _c.channel,
    _c.address,
    _c.status,
    _c.locale,
    _c.country,
    _c.name,
    _c.relationship,
    _c.lesson_time,
    _c.checkin_time,
    _c.timezone,
    _c.quiet_start,
    _c.quiet_end,
    _c.session,
)
FAMILY_FIELDS = tuple(column.name for column in FAMILY)
CONTACT_COLUMNS = frozenset(CONTACTS.c.keys())

_BY_ADDRESS = (
    select(*FAMILY)
    .where(
        _c.channel == bindparam("channel"),
        _c.address.in_(bindparam("addresses", expanding=True)),
    )
    .order_by(_c.id)  # locked in one order by every transaction (PostgreSQL)
    .with_for_update()
)
_BY_ID = select(*FAMILY).where(_c.id.in_(bindparam("ids", expanding=True)))


def families_by_address(db: DB, channel: str, addresses: Iterable[str]) -> Sequence[Sequence[Any]]:
    """The families of one channel with these addresses, locked for this transaction."""
    return db.execute(_BY_ADDRESS, {"channel": channel, "addresses": sorted(addresses)}).all()


def families_by_id(db: DB, ids: Iterable[int], lock: bool = False) -> Sequence[Sequence[Any]]:
    """These families (locked for this transaction if `lock`), in no particular order."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return db.execute(_BY_ID.with_for_update() if lock else _BY_ID, {"ids": wanted}).all()


def add_contacts(db: DB, rows: Sequence[Mapping[str, Any]]) -> None:
    """New contacts, unless a racing first message from the same address added one just now."""
    if rows:
        db.execute(insert_ignoring(dialect_of(db), CONTACTS), rows)


def add_contact(db: DB, values: Mapping[str, Any]) -> int:
    """One new contact (an enrolment); its id. A contact already at that channel and address
    raises IntegrityError."""
    return int(db.execute(insert(CONTACTS).returning(_c.id), dict(values)).scalar_one())


def contact_id_at(db: DB, channel: str, address: str) -> int | None:
    return db.execute(
        select(_c.id).where(_c.channel == channel, _c.address == address)
    ).scalar_one_or_none()


def update_contacts(db: DB, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Set these columns of these contacts: one executemany per set of changed columns (usually
    one)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for contact_id, values in changes.items():
        keys = tuple(sorted(values))
        row = dict(zip(_bind_names(keys), map(values.__getitem__, keys), strict=True))
        row["b_id"] = contact_id
        groups.setdefault(keys, []).append(row)
    for keys, rows in groups.items():
        db.execute(_updating(keys), rows)


@cache
def _bind_names(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"b_{k}" for k in keys)


_UPDATES: dict[tuple[str, ...], Any] = {}


def _updating(keys: tuple[str, ...]) -> Any:
    # bind names differ from column names: SQLAlchemy keeps those for its own SET parameters
    if keys not in _UPDATES:
        _UPDATES[keys] = (
            update(CONTACTS)
            .where(_c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}") for k in keys})
        )
    return _UPDATES[keys]


def record_inbound(db: DB, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert inbound messages unless their (channel, provider id) is stored already: a provider
    retry. Returns the new rows' ids by (channel, provider id)."""
    if not rows:
        return {}
    stmt = insert_ignoring(dialect_of(db), INBOUND, ("id", "channel", "provider_id"))
    return {(channel, provider): id_ for id_, channel, provider in db.execute(stmt, rows)}
