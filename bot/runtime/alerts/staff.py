"""Who is told of an alert: the on-call list and the backup list, from the settings.

Each entry of STAFF_ALERT_<CHANNEL> and STAFF_BACKUP_<CHANNEL> is an address, or a name and an
address ("Dana <+15550123>"); the name is what an acknowledgement by phone records. Addresses are
kept the way inbound messages carry them (E.164 phone numbers, lower-case email), so a staff
member's reply is recognised whatever the settings' spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from bot.settings import Settings

CHANNELS = ("sms", "email", "telegram")
_NAMED = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<\s*(?P<address>[^<>]+?)\s*>\s*$")


@dataclass(frozen=True)
class StaffMember:
    channel: str
    address: str
    name: str = ""
    backup: bool = False

    @property
    def who(self) -> str:
        """How an acknowledgement by this person is recorded."""
        return self.name or f"{self.channel} {self.address}"


@dataclass(frozen=True)
class StaffList:
    members: tuple[StaffMember, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffList:
        members = []
        for backup in (False, True):
            for channel in CHANNELS:
                for entry in settings.staff(channel, backup):
                    name, address = _split(entry)
                    address = _normal(channel, address, settings.phone_region())
                    members.append(StaffMember(channel, address, name, backup))
        return cls(tuple(members))

    @property
    def configured(self) -> bool:
        return bool(self.members)

    def on_call(self) -> tuple[StaffMember, ...]:
        """Who gets the first notice: the on-call list, or the backup list when it is alone."""
        primary = tuple(m for m in self.members if not m.backup)
        return primary or self.backups()

    def backups(self) -> tuple[StaffMember, ...]:
        return tuple(m for m in self.members if m.backup)

    def for_stage(self, stage: int) -> tuple[StaffMember, ...]:
        """Stage 0: on call. 1: the backup list (on call again if there is none). 2 and later,
        the repeats: everyone on either list, once each."""
        if stage == 0:
            return self.on_call()
        if stage == 1:
            return self.backups() or self.on_call()
        seen: dict[tuple[str, str], StaffMember] = {}
        for member in self.members:
            seen.setdefault((member.channel, member.address), member)
        return tuple(seen.values())

    def match(self, channel: str, address: str) -> StaffMember | None:
        """The staff member writing from this address, if it is one of theirs."""
        wanted = address.strip().lower() if channel == "email" else address.strip()
        return next((m for m in self.members if m.channel == channel and m.address == wanted), None)


def _split(entry: str) -> tuple[str, str]:
    named = _NAMED.match(entry)
    if named:
        return named["name"].strip(), named["address"].strip()
    return "", entry.strip()


def _normal(channel: str, address: str, region: str) -> str:
    if channel == "email":
        return address.lower()
    if channel == "sms":
        try:
            number = phonenumbers.parse(address, region)
        except phonenumbers.NumberParseException:
            return address.replace(" ", "")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return address
