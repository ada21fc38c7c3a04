"""A family member's details as a coach types them (`craftbot enroll`, a CSV for `import`):
checked all at once, every problem named, read the way the chat reads the same answers.

Pure: the caller passes what it knows (shipped locales, the phone region, column limits, and the
chat's own understanding of "wife", "eastern" or "7pm"), so there is one source for each.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers

from bot.flows.model import EXPECT_LABELS

CHANNELS = ("sms", "telegram", "email")
FIELDS = (
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
DEFAULTS = {"lesson_time": "09:00", "checkin_time": "19:00", "locale": "en"}
RELATIONSHIPS = EXPECT_LABELS["relationship"]
# (expect kind, text, locale) -> the value the chat would save for that reply, or None.
Understand = Callable[[str, str, str], str | None]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_TELEGRAM_ID = re.compile(r"^-?\d{1,20}$")


class DetailsError(ValueError):
    """Every problem found in one family member's details, each naming the field and value."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Rules:
    """What the caller knows that decides whether a value is good."""

    locales: Collection[str]
    region: str = "US"  # where a number written without +country is (DEFAULT_REGION)
    understand: Understand | None = None
    limits: Mapping[str, int] = field(default_factory=dict)  # column -> most characters


def phone_number(text: str, region: str) -> str:
    """'(202) 555-0123' -> '+12025550123'; '555-0199' -> DetailsError (no area code)."""
    text = text.strip()
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise DetailsError(
            [f"address '{text}' is not a phone number such as +1 202 555 0123"]
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise DetailsError(
            [
                f"address '{text}' is not a valid phone number (read in region {region.upper()}, "
                "DEFAULT_REGION): give the whole number with its area code, or in international "
                "form such as +1 202 555 0123"
            ]
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def address_for(channel: str, text: str, region: str) -> str:
    text = text.strip()
    if channel == "sms":
        return phone_number(text, region)
    if channel == "email":
        if not _EMAIL.match(text):
            raise DetailsError([f"address '{text}' is not an email address"])
        return text.lower()
    if channel == "telegram":
        if not _TELEGRAM_ID.match(text):
            raise DetailsError([f"address '{text}' is not a Telegram chat id (a number)"])
        return text
    raise DetailsError([f"channel '{channel}' is not one of {', '.join(CHANNELS)}"])


def check(values: Mapping[str, str | None], rules: Rules) -> dict[str, str | None]:
    """The details, normalised; DetailsError listing every problem, in field order."""
    given = {k: (v or "").strip() for k, v in values.items()}
    out: dict[str, str | None] = {k: given.get(k) or DEFAULTS.get(k) or None for k in FIELDS}
    problems: list[str] = []
    # "ES" and "es-MX" are Spanish: the locale is the language's folder name (messages/es/).
    locale = out["locale"] = (out["locale"] or "en").strip().lower().replace("_", "-")
    if locale not in rules.locales and locale.split("-")[0] in rules.locales:
        locale = out["locale"] = locale.split("-")[0]
    channel = given.get("channel", "")
    if not channel:
        problems.append(f"channel is missing (one of {', '.join(CHANNELS)})")
    elif channel not in CHANNELS:
        problems.append(f"channel '{channel}' is not one of {', '.join(CHANNELS)}")
    if not given.get("address"):
        problems.append("address is missing")
    elif channel in CHANNELS:
        try:
            out["address"] = address_for(channel, given["address"], rules.region)
        except DetailsError as exc:
            problems.extend(exc.problems)
    if out["relationship"]:
        given_label = out["relationship"].lower()
        label = (
            given_label
            if given_label in RELATIONSHIPS
            else _understood(rules, "relationship", out["relationship"], locale)
        )
        if label in RELATIONSHIPS:
            out["relationship"] = label
        else:
            problems.append(
                f"relationship '{out['relationship']}' is not one the bot understands "
                f"({', '.join(RELATIONSHIPS)}, or words such as wife, my son, brother)"
            )
    if out["timezone"]:
        zone = _understood(rules, "timezone", out["timezone"], locale)
        if zone and zone in available_timezones():
            out["timezone"] = zone
        else:
            problems.append(
                f"timezone '{out['timezone']}' is not a time zone: use an IANA name such as "
                "America/Chicago, or a word such as eastern or pacific"
            )
    for key, label in (("lesson_time", "lesson time"), ("checkin_time", "check-in time")):
        time_text = out[key] or ""
        hhmm = (
            time_text if _HHMM.match(time_text) else _understood(rules, "time", time_text, locale)
        )
        if hhmm and _HHMM.match(hhmm):
            out[key] = hhmm
        elif time_text.isdigit() and 1 <= int(time_text) <= 12:
            hour = int(time_text)
            problems.append(
                f"{label} '{time_text}' could be morning or evening: write {hour:02d}:00 or "
                f"{hour + 12:02d}:00 (or {hour}am / {hour}pm)"
            )
        else:
            problems.append(f"{label} '{time_text}' is not a time such as 09:00, 19:30 or 7pm")
    if locale not in rules.locales:
        problems.append(
            f"locale '{locale}' is not shipped (known: {', '.join(sorted(rules.locales))})"
        )
    for key, label in (("address", "address"), ("name", "name"), ("loved_one", "loved one")):
        limit, value = rules.limits.get(key), out[key]
        if limit and value and len(value) > limit:
            problems.append(
                f"{label} '{value}' is {len(value)} characters long; the most is {limit}"
            )
    if problems:
        raise DetailsError(problems)
    return out


def _understood(rules: Rules, kind: str, text: str, locale: str) -> str | None:
    if rules.understand is not None:
        return rules.understand(kind, text, locale)
    return text  # no understanding given: the value must already be the exact form


# --- CSV ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]
    problems: tuple[str, ...] = ()  # problems of the row's shape, before its values are checked


def read_csv(handle: IO[str]) -> tuple[list[Row], list[str]]:
    """Every data row with its line number; the file's own problems (its header) separately."""
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    if "channel" not in header or "address" not in header:
        return [], [
            "line 1: the header must name at least channel and address "
            f"(columns: {', '.join(FIELDS)})"
        ]
    unknown = [c for c in header if c not in FIELDS]
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})"]
    rows = []
    for raw in reader:
        extra = raw.pop(None, None)  # type: ignore[call-overload]  # DictReader's surplus key
        problems: tuple[str, ...] = ()
        if extra:
            problems = (
                f"{len(extra)} more value(s) than the header has columns: "
                + ", ".join(f"'{v}'" for v in extra),
            )
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        if not problems and not any(values.values()):
            continue  # ",,,,": a spreadsheet's empty row, not a family
        rows.append(Row(reader.line_num, values, problems))
    return rows, []


# --- saying what will happen --------------------------------------------------------------------
def shown_address(channel: str, address: str) -> str:
    """'+12025550123' -> '+1 202-555-0123'; other channels as stored."""
    if channel != "sms":
        return address
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException:
        return address
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def who(values: Mapping[str, str | None]) -> str:
    """'Ana (sms +1 202-555-0123)'."""
    channel, address = values.get("channel") or "", values.get("address") or ""
    name = values.get("name") or "A family member"
    return f"{name} ({channel} {shown_address(channel, address)})"


def local_time(at: datetime, zone: str) -> str:
    """'Tue 3 Mar 09:00 America/Chicago'."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M} {zone}"
