"""What coaches do outside a conversation: enrol families, one or a CSV (exports: exports.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy.exc import IntegrityError

from bot import family_details as details
from bot.engine.session import Session
from bot.runtime import family_data
from bot.runtime.context import Context
from bot.runtime.family_clock import guess_from_phone
from bot.runtime.turn import welcome
from storage.queries import families as family_sql
from storage.queries import records

CHANNELS = details.CHANNELS
RELATIONSHIPS = details.RELATIONSHIPS
CSV_COLUMNS = details.FIELDS
ADMIN_CONSENT = "Consent collected by the organisation and recorded by an admin (craftbot enroll)."
# An enrolled family's first message, before any lesson: who writes, what comes and how often,
# how to get help and to stop (docs/craft-facts.md section 6).
WELCOME = "onboarding.enrolled"


class EnrollError(details.DetailsError):
    """Bad enrolment values; the message names each field and rule (`.problems` lists them)."""


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


def normalize_address(channel: str, address: str, region: str = "US") -> str:
    try:
        return details.address_for(channel, address, region)
    except details.DetailsError as exc:
        raise EnrollError(exc.problems) from None


def _limits() -> dict[str, int]:
    """Refuse what a column cannot hold: PostgreSQL would fail the row, SQLite would keep it."""
    columns = family_sql.CONTACTS.c
    return {
        k: n
        for k in ("address", "name", "loved_one")
        if (n := getattr(columns[k].type, "length", 0))
    }


def validate(
    e: Enrollment,
    locales: set[str],
    *,
    region: str = "US",
    understand: details.Understand | None = None,
) -> Enrollment:
    """The enrolment normalised, or EnrollError naming every problem (family_details.check)."""
    rules = details.Rules(locales, region, understand, _limits())
    try:
        values = details.check(vars(e), rules)
    except details.DetailsError as exc:
        raise EnrollError(exc.problems) from None
    return Enrollment(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


def understanding_of(ctx: Context) -> details.Understand:
    """The chat's own reading of answers ("wife" is partner, "eastern" a zone, "7pm" 19:00)."""
    understanding = ctx.program.current.program.understanding

    def understand(kind: str, text: str, locale: str) -> str | None:
        answer = understanding.read(kind, text, locale)
        return answer.value if answer is not None else None

    return understand


def enroll(ctx: Context, request: Enrollment, now: datetime | None = None) -> int:
    """Enrol one family member whose consent the organisation collected; returns the contact id.

    The family's first message (WELCOME) is queued at once, as the program's: quiet hours hold
    it, and their first lesson or check-in comes after it."""
    now = now or ctx.clock()
    e = validate(
        request,
        set(ctx.program.current.catalogs.locales),
        region=ctx.settings.phone_region(),
        understand=understanding_of(ctx),
    )
    zone, country = guess_from_phone(e.address) if e.channel == "sms" else (None, None)
    timezone = e.timezone or zone or ctx.settings.default_timezone
    # The country: the phone number's, else the time zone's, else DEFAULT_COUNTRY (as joining).
    by_zone = ctx.program.current.program.understanding.country_of_zone(e.timezone)
    source = "phone" if country else "timezone" if by_zone else "default"
    country = country or by_zone or ctx.settings.default_country
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
            "country_from": source,
        }.items()
        if v
    }
    session = Session(status="active", onboarded=True, profile=profile)
    try:
        with ctx.transaction() as db:
            exists = family_sql.contact_id_at(db, e.channel, e.address)
            if exists:
                raise EnrollError(f"{e.channel} {e.address} is already enrolled (contact {exists})")
            if family_data.was_erased(db, ctx.settings, e.channel, [e.address]):
                raise EnrollError(
                    f"{e.channel} {e.address} asked for their data to be erased and withdrew; "
                    "only they can join again, by writing to us (docs/privacy.md)"
                )
            contact_id = family_sql.add_contact(
                db,
                {
                    "channel": e.channel,
                    "address": e.address,
                    "status": "active",
                    "locale": e.locale,
                    "country": country,
                    "timezone": timezone,
                    "name": e.name,
                    "relationship": e.relationship,
                    "loved_one": e.loved_one,
                    "lesson_time": e.lesson_time,
                    "checkin_time": e.checkin_time,
                    "paused_indefinitely": False,
                    "session": session.to_json(),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            records.add_consents(
                db,
                [
                    {
                        "contact_id": contact_id,
                        "given": True,
                        "action": "admin_enroll",
                        "channel": e.channel,
                        "by": "admin",
                        "words": ADMIN_CONSENT,
                        "at": now,
                    }
                ],
            )
            welcome(ctx, db, contact_id, WELCOME, now)
            return contact_id
    except IntegrityError as exc:
        # Another run enrolled the same address between our check and insert.
        raise EnrollError(
            f"{e.channel} {e.address} is already enrolled (by another run just now)"
        ) from exc


def import_csv(ctx: Context, handle: IO[str]) -> tuple[list[int], list[str]]:
    """Enrol every good row (each in its own transaction); report every problem of every bad row,
    one entry per problem, by line number."""
    rows, file_problems = details.read_csv(handle)
    if file_problems:
        return [], file_problems
    ids: list[int] = []
    errors: list[str] = []
    for row in rows:
        try:
            if row.problems:
                raise EnrollError(list(row.problems))
            ids.append(enroll(ctx, Enrollment(**row.values)))
        except EnrollError as exc:
            errors.extend(f"line {row.line}: {problem}" for problem in exc.problems)
    return ids, errors
