"""One bundle of every lexicon, and the questions the engine asks it. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.understanding.answers import Answer, AnswerLexicon, read_answer
from bot.understanding.checkin import CheckinReading, CheckinRules, read_checkin
from bot.understanding.crisis import CrisisReading, CrisisRules, read_crisis
from bot.understanding.followup import FollowupRules, ReflectRules, read_followup, reflection
from bot.understanding.language import Language, Parsed
from bot.understanding.places import Places


@dataclass(frozen=True)
class Understanding:
    answers: Mapping[str, AnswerLexicon]  # per locale, for the simple questions
    language: Language  # every language's spellings, emoji, classes and modifiers, merged
    crisis_rules: CrisisRules
    checkin_rules: CheckinRules
    followup_rules: FollowupRules
    reflect_rules: ReflectRules
    zones: frozenset[str]  # IANA names this machine knows
    places: Places = Places({}, {})  # the country of a time zone; countries a reply names
    default_locale: str = "en"
    _parse: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # The engine asks several questions of one message; read it once.
        object.__setattr__(self, "_parse", lru_cache(maxsize=64)(self.language.parse))

    def parse(self, text: str) -> Parsed:
        parsed: Parsed = self._parse(text)
        return parsed

    def crisis(self, text: str) -> CrisisReading:
        """Is anyone in danger now: the tier, the category and why (every language is read)."""
        return read_crisis(self.parse(text), self.crisis_rules)

    def crisis_in(self, text: str) -> CrisisReading | None:
        """The reading when it is an emergency, else None (the API before the tiers)."""
        reading = self.crisis(text)
        return reading if reading.tier == "emergency" else None

    def checkin(self, text: str) -> CheckinReading:
        return read_checkin(self.parse(text), self.checkin_rules)

    def reflection(self, text: str) -> str | None:
        """What free text that answers nothing is about: question, feelings, story, or None."""
        return reflection(self.parse(text), self.reflect_rules)

    def _ordered(self, table: Mapping[str, object], locale: str) -> list[str]:
        """The contact's locale first, then the default, then the rest: people switch languages."""
        order = [locale, self.default_locale, *sorted(table)]
        return [k for i, k in enumerate(order) if k in table and k not in order[:i]]

    def read(self, expect: str, text: str, locale: str) -> Answer | None:
        if expect == "checkin":
            reading = self.checkin(text)
            if reading.category is None and reading.window is None:
                return None
            labels: set[str] = {reading.category} if reading.category else set()
            if reading.window:
                labels |= {reading.window, "window"}
            return Answer(frozenset(labels), reading.category)
        if expect == "followup":
            found = read_followup(self.parse(text), self.followup_rules)
            return Answer(found, ",".join(sorted(found))) if found else None
        lexicons = [self.answers[k] for k in self._ordered(self.answers, locale)]
        if expect == "country":
            code = self.places.read_country(text, [lexicon.countries for lexicon in lexicons])
            return Answer(frozenset({"given"}), code) if code else None
        return read_answer(expect, text, lexicons, self.zones)

    def country_of_zone(self, zone: str | None) -> str | None:
        """The country an IANA time zone is in ("Europe/London" -> "GB"), or None."""
        return self.places.country_of_zone(zone)
