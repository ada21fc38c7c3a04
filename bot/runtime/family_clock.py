"""A family's own clock: their time zone and quiet hours, with the deployment's defaults."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones

from bot.scheduling.clock import QuietHours
from bot.settings import Settings
from storage.models import Contact


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def zone_of(contact: Contact, settings: Settings) -> ZoneInfo:
    for name in (contact.timezone, settings.default_timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_of(contact: Contact, settings: Settings) -> QuietHours:
    return QuietHours(
        parse_hhmm(contact.quiet_start or settings.quiet_start),
        parse_hhmm(contact.quiet_end or settings.quiet_end),
    )


def local_date(contact: Contact, settings: Settings, instant: datetime) -> datetime:
    return instant.astimezone(zone_of(contact, settings))


def guess_from_phone(address: str) -> tuple[str | None, str | None]:
    """(time zone, country) from an E.164 number when the number says (+44 -> Europe/London, GB)."""
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException:
        return None, None
    # A number the library does not know as valid (+44 7700 900123) still says its country code.
    country = phonenumbers.region_code_for_number(
        number
    ) or phonenumbers.region_code_for_country_code(number.country_code or 0)
    country = SAME_CRISIS_LINES.get(country, country)
    zones = [z for z in phone_zones.time_zones_for_number(number) if z != "Etc/Unknown"]
    return (zones[0] if len(zones) == 1 else None), (
        country if country and country != "ZZ" else None
    )


# Places whose emergency and crisis numbers are the United Kingdom's (999, Samaritans 116 123).
SAME_CRISIS_LINES = {"GG": "GB", "JE": "GB", "IM": "GB"}
