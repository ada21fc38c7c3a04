"""Staff accounts and the crisis alert lists (STAFF_ALERT_SMS, _EMAIL, _TELEGRAM), linked by
address.

The lists stay in the settings, and alerts go to them exactly as before. An account may carry the
phone, email or Telegram chat it is alerted at; an address matching a list entry links the two,
so a reply from that phone can be taken as that staff member's (`Accounts.alerted_at`), and
`craftbot staff list` shows who is on which list. Addresses are compared in one normal form:
phones in E.164 (read with DEFAULT_REGION), emails in lower case, Telegram chat ids as digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import phonenumbers
from sqlalchemy.orm import Session

from bot.settings import Settings
from storage import console_accounts as q
from storage import models as m

CHANNELS = ("sms", "email", "telegram")
SETTING = {
    "sms": "STAFF_ALERT_SMS",
    "email": "STAFF_ALERT_EMAIL",
    "telegram": "STAFF_ALERT_TELEGRAM",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TELEGRAM = re.compile(r"^-?\d{1,20}$")


def normal_address(channel: str, raw: str, region: str) -> str:
    """The address in the form both sides are compared in; ValueError saying what is wrong."""
    raw = raw.strip()
    if channel == "sms":
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"'{raw}' is not a phone number") from exc
        if not phonenumbers.is_possible_number(number):  # the length only: 555-01xx passes
            raise ValueError(f"'{raw}' is not a phone number (too short or too long)")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if channel == "email":
        if not _EMAIL.match(raw) or len(raw) > 320:
            raise ValueError(f"'{raw}' is not an email address")
        return raw.lower()
    if channel == "telegram":
        if not _TELEGRAM.match(raw):
            raise ValueError(f"'{raw}' is not a Telegram chat id (digits, as the bot sees it)")
        return raw
    raise ValueError(f"'{channel}' is not an alert channel (known: {', '.join(CHANNELS)})")


def alert_lists(settings: Settings) -> Mapping[str, frozenset[str]]:
    """Each channel's alert list in normal form (an entry that cannot be read is kept as typed,
    so it still shows up as unlinked)."""
    region = settings.phone_region()
    lists: dict[str, frozenset[str]] = {}
    for channel in CHANNELS:
        found = set()
        for raw in settings.staff(channel):
            try:
                found.add(normal_address(channel, raw, region))
            except ValueError:
                found.add(raw)
        lists[channel] = frozenset(found)
    return lists


def normal_alerts(addresses: Mapping[str, str], region: str) -> dict[str, str | None]:
    """{"sms": "+1 555 0100"} -> {"sms": "+15550100"}; "" -> None (clear it). ValueError names
    the option and what is wrong."""
    wanted: dict[str, str | None] = {}
    for channel, raw in addresses.items():
        try:
            wanted[channel] = normal_address(channel, raw, region) if raw.strip() else None
        except ValueError as exc:
            raise ValueError(f"--alert-{channel}: {exc}") from exc
    return wanted


def taken(db: Session, staff_id: int, wanted: Mapping[str, str | None]) -> str:
    """Why these addresses cannot be this account's ('' if they can): a reply from an alert
    address must name one person, so an address belongs to one account at most."""
    for channel, address in wanted.items():
        owner = q.staff_alerted_at(db, channel, address) if address else None
        if owner is not None and owner.id != staff_id:
            return f"{address} is already linked to {owner.email}"
    return ""


def of(staff: m.Staff) -> tuple[tuple[str, str], ...]:
    """(channel, address) of each alert address the account carries."""
    found = (
        ("sms", staff.alert_sms),
        ("email", staff.alert_email),
        ("telegram", staff.alert_telegram),
    )
    return tuple((channel, address) for channel, address in found if address)
