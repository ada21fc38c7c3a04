"""The family a turn works for: one immutable value shared by turns, effects and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from bot.engine.session import Session
from bot.flows.model import PROFILE_FIELDS
from bot.runtime.family_clock import Clocks, FamilyClock
from storage.queries.families import CONTACT_COLUMNS, FAMILY_FIELDS

# The profile fields a flow may save that the contacts table also keeps as columns ("rewards"
# lives only in the session).
PROFILE_COLUMNS = tuple(f for f in PROFILE_FIELDS if f in CONTACT_COLUMNS)
_EXPECTED = (
    "id",
    "channel",
    "address",
    "status",
    "locale",
    "country",
    "name",
    "relationship",
    "lesson_time",
    "checkin_time",
    "timezone",
    "quiet_start",
    "quiet_end",
    "session",
)
if FAMILY_FIELDS != _EXPECTED:  # Family.from_row unpacks by position
    raise ImportError(f"storage's FAMILY columns changed: {FAMILY_FIELDS}; update Family.from_row")


class Family(NamedTuple):
    """One family member on one channel, as a turn sees them: a stored contact, its clock and its
    conversation. A step gives a new value (`with_profile`, `with_session`), never changes one.
    An immutable row: a fan-out makes two a family, and a tuple is made in a third of the time
    of a frozen dataclass (0.6 us against 2)."""

    id: int
    channel: str
    address: str
    status: str
    locale: str
    country: str | None
    name: str | None
    relationship: str | None
    lesson_time: str | None  # "HH:MM" local, or None: no lessons scheduled
    checkin_time: str | None
    clock: FamilyClock
    session: Session

    @classmethod
    def from_row(cls, values: Sequence[Any], clocks: Clocks) -> Family:
        """From the columns of storage.queries.families.FAMILY, in that order."""
        (
            id_,
            channel,
            address,
            status,
            locale,
            country,
            name,
            relationship,
            lesson_time,
            checkin_time,
            timezone,
            quiet_start,
            quiet_end,
            session,
        ) = values
        return cls(
            id_,
            channel,
            address,
            status,
            locale or "en",
            country,
            name,
            relationship,
            lesson_time,
            checkin_time,
            clocks.of(timezone, quiet_start, quiet_end),
            Session.from_json(session),
        )

    def with_session(self, session: Session) -> Family:
        # positional, not _replace (which goes through a dict of keywords): once a step in a fan-out
        return Family(
            self.id,
            self.channel,
            self.address,
            session.status,
            self.locale,
            self.country,
            self.name,
            self.relationship,
            self.lesson_time,
            self.checkin_time,
            self.clock,
            session,
        )

    def with_profile(self, field: str, value: str, clocks: Clocks) -> Family:
        """This family after a flow saved `field` (one of PROFILE_COLUMNS)."""
        if field == "timezone":
            clock = self.clock
            return self._replace(clock=clocks.of(value, clock.quiet_start, clock.quiet_end))
        if field in ("locale", "country", "name", "relationship", "lesson_time", "checkin_time"):
            return self._replace(**{field: value})  # type: ignore[arg-type]
        return self  # a column the turn does not read (loved_one)
