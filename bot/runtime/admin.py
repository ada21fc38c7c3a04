"""What coaches do outside a conversation: enrol families (one or a CSV), export records."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import available_timezones

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.engine.session import Session
from bot.flows.model import EXPECT_LABELS
from bot.runtime.context import Context
from bot.runtime.family_clock import guess_from_phone
from bot.runtime.turn import reschedule
from storage import models as m

CHANNELS = ("sms", "telegram", "email")
RELATIONSHIPS = EXPECT_LABELS["relationship"]
CSV_COLUMNS = (
    "channel",
    "address",
    "name",
    "relationship",
    "loved_one",
    "timezone",
    "lesson_time",
    "checkin_time",
    "locale",
)
ADMIN_CONSENT = "Consent collected by the organisation and recorded by an admin (craftbot enroll)."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class EnrollError(ValueError):
    """A bad enrolment value; the message names the field and the rule."""


@dataclass(frozen=True)
class Enrollment:
    channel: str
    address: str
    name: str | None = None
    relationship: str | None = None
    loved_one: str | None = None
    timezone: str | None = None
    lesson_time: str = "09:00"
    checkin_time: str = "19:00"
    locale: str = "en"


def normalize_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel == "sms":
        try:
            number = phonenumbers.parse(address, "US")
        except phonenumbers.NumberParseException as exc:
            raise EnrollError(
                f"address '{address}' is not a phone number such as +1 555 0123"
            ) from exc
        if not phonenumbers.is_possible_number(number):
            raise EnrollError(f"address '{address}' is not a possible phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if channel == "email":
        if not _EMAIL.match(address):
            raise EnrollError(f"address '{address}' is not an email address")
        return address.lower()
    if channel == "telegram":
        if not re.fullmatch(r"-?\d{1,20}", address):
            raise EnrollError(f"address '{address}' is not a Telegram chat id (a number)")
        return address
    raise EnrollError(f"channel '{channel}' is not one of {', '.join(CHANNELS)}")


def _fits(label: str, value: str | None, column: str) -> None:
    """Refuse what the column cannot hold: PostgreSQL would fail the row, SQLite would keep it."""
    limit = getattr(m.Contact.__table__.c[column].type, "length", None)
    if value and limit and len(value) > limit:
        raise EnrollError(f"{label} '{value}' is {len(value)} characters long; the most is {limit}")


def validate(e: Enrollment, locales: set[str]) -> Enrollment:
    address = normalize_address(e.channel, e.address)
    for label, value, column in (
        ("address", address, "address"),
        ("name", e.name, "name"),
        ("loved one", e.loved_one, "loved_one"),
    ):
        _fits(label, value, column)
    if e.relationship and e.relationship not in RELATIONSHIPS:
        raise EnrollError(
            f"relationship '{e.relationship}' is not one of {', '.join(RELATIONSHIPS)}"
        )
    if e.timezone and e.timezone not in available_timezones():
        raise EnrollError(
            f"timezone '{e.timezone}' is not an IANA time zone such as America/Chicago"
        )
    for label, value in (("lesson time", e.lesson_time), ("check-in time", e.checkin_time)):
        if not _HHMM.match(value or ""):
            raise EnrollError(
                f"{label} '{value}' must be HH:MM on a 24-hour clock, such as 09:00 or 19:30"
            )
    if e.locale not in locales:
        raise EnrollError(
            f"locale '{e.locale}' is not shipped (known: {', '.join(sorted(locales))})"
        )
    return Enrollment(
        e.channel,
        address,
        e.name or None,
        e.relationship or None,
        e.loved_one or None,
        e.timezone or None,
        e.lesson_time,
        e.checkin_time,
        e.locale,
    )


def enroll(ctx: Context, request: Enrollment, now: datetime | None = None) -> int:
    """Enrol one family member whose consent the organisation collected; returns the contact id."""
    now = now or ctx.clock()
    e = validate(request, set(ctx.program.current.catalogs.locales))
    zone, country = guess_from_phone(e.address) if e.channel == "sms" else (None, None)
    country = country or ctx.settings.default_country
    timezone = e.timezone or zone or ctx.settings.default_timezone
    profile = {
        k: v
        for k, v in {
            "name": e.name,
            "relationship": e.relationship,
            "loved_one": e.loved_one,
            "timezone": timezone,
            "lesson_time": e.lesson_time,
            "checkin_time": e.checkin_time,
            "locale": e.locale,
            "country": country,
        }.items()
        if v
    }
    session = Session(status="active", onboarded=True, profile=profile)
    try:
        with ctx.db.begin() as db:
            exists = db.execute(
                select(m.Contact.id).where(
                    m.Contact.channel == e.channel, m.Contact.address == e.address
                )
            ).scalar()
            if exists:
                raise EnrollError(f"{e.channel} {e.address} is already enrolled (contact {exists})")
            contact = m.Contact(
                channel=e.channel,
                address=e.address,
                status="active",
                locale=e.locale,
                country=country,
                timezone=timezone,
                name=e.name,
                relationship=e.relationship,
                loved_one=e.loved_one,
                lesson_time=e.lesson_time,
                checkin_time=e.checkin_time,
                paused_indefinitely=False,
                session=session.to_json(),
                created_at=now,
                updated_at=now,
            )
            db.add(contact)
            db.flush()
            db.add(
                m.Consent(
                    contact_id=contact.id,
                    given=True,
                    action="admin_enroll",
                    channel=e.channel,
                    by="admin",
                    words=ADMIN_CONSENT,
                    at=now,
                )
            )
            reschedule(ctx, db, [contact.id], now)
            return contact.id
    except (
        IntegrityError
    ) as exc:  # another run enrolled the same address between our check and insert
        raise EnrollError(
            f"{e.channel} {e.address} is already enrolled (by another run just now)"
        ) from exc


def import_csv(ctx: Context, handle: IO[str]) -> tuple[list[int], list[str]]:
    """Enrol every good row (each in its own transaction); report bad rows by line number."""
    reader = csv.DictReader(handle)
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if (
        not reader.fieldnames
        or "channel" not in reader.fieldnames
        or "address" not in reader.fieldnames
    ):
        return [], [
            f"line 1: the header must name at least channel and address (columns: {', '.join(CSV_COLUMNS)})"
        ]
    if unknown:
        return [], [
            f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)})"
        ]
    ids, errors = [], []
    for row in reader:
        line = reader.line_num
        extra = row.pop(None, None)  # DictReader's key for surplus values
        if extra:
            errors.append(
                f"line {line}: {len(extra)} more value(s) than the header has columns: "
                + ", ".join(f"'{v}'" for v in extra)
            )
            continue
        values = {k: (v or "").strip() for k, v in row.items() if k}
        try:
            request = Enrollment(
                **{k: v for k, v in values.items() if v or k in ("channel", "address")}
            )
            ids.append(enroll(ctx, request))
        except (EnrollError, TypeError) as exc:
            errors.append(f"line {line}: {exc}")
    return ids, errors


# The columns of each export, in order: a CSV of nothing still has its header.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "id",
        "channel",
        "address",
        "status",
        "name",
        "relationship",
        "timezone",
        "lesson_time",
        "checkin_time",
        "locale",
        "created_at",
    ),
    "checkins": ("channel", "address", "value", "local_date", "at"),
    "messages": ("direction", "channel", "address", "message_id", "text", "status", "at"),
    "alerts": ("channel", "address", "category", "matched", "text", "at", "staff_notified"),
}
EXPORTS = tuple(EXPORT_COLUMNS)


def export_rows(ctx: Context, what: str) -> Iterator[dict[str, Any]]:
    with ctx.db() as db:
        if what == "contacts":
            for c in db.scalars(select(m.Contact).order_by(m.Contact.id)):
                yield {
                    "id": c.id,
                    "channel": c.channel,
                    "address": c.address,
                    "status": c.status,
                    "name": c.name,
                    "relationship": c.relationship,
                    "timezone": c.timezone,
                    "lesson_time": c.lesson_time,
                    "checkin_time": c.checkin_time,
                    "locale": c.locale,
                    "created_at": iso(c.created_at),
                }
        elif what == "checkins":
            for ck, c in db.execute(
                select(m.Checkin, m.Contact).join(m.Contact).order_by(m.Checkin.id)
            ):
                yield {
                    "channel": c.channel,
                    "address": c.address,
                    "value": ck.value,
                    "local_date": ck.local_date.isoformat() if ck.local_date else None,
                    "at": iso(ck.at),
                }
        elif what == "messages":
            yield from _messages(db)
        elif what == "alerts":
            for a, c in db.execute(select(m.Alert, m.Contact).join(m.Contact).order_by(m.Alert.id)):
                yield {
                    "channel": c.channel,
                    "address": c.address,
                    "category": a.category,
                    "matched": a.matched,
                    "text": a.text,
                    "at": iso(a.at),
                    "staff_notified": a.notified,
                }
        else:
            raise ValueError(f"nothing called '{what}' to export (known: {', '.join(EXPORTS)})")


def _messages(db: Any) -> Iterator[dict[str, Any]]:
    rows = []
    for i in db.scalars(select(m.InboundMessage)):
        rows.append(
            {
                "direction": "in",
                "channel": i.channel,
                "address": _address(db, i.contact_id),
                "message_id": None,
                "text": i.text,
                "status": "received",
                "at": iso(i.received_at),
            }
        )
    for o in db.scalars(select(m.OutboundMessage)):
        rows.append(
            {
                "direction": "out",
                "channel": o.channel,
                "address": o.address,
                "message_id": o.message_id,
                "text": o.text,
                "status": o.status,
                "at": iso(o.sent_at or o.created_at),
            }
        )
    yield from sorted(rows, key=lambda r: r["at"] or "")


def _address(db: Any, contact_id: int | None) -> str | None:
    contact = db.get(m.Contact, contact_id) if contact_id else None
    return contact.address if contact else None


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
