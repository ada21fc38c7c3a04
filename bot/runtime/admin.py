"""What coaches do outside a conversation: enrol families, one or a CSV (exports: exports.py)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from typing import IO
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
