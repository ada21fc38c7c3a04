"""One bundle of every lexicon, and the single question the engine asks it: what does this mean?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.understanding.answers import Answer, AnswerLexicon, read_answer
from bot.understanding.checkin import CheckinLexicon, classify_checkin
from bot.understanding.crisis import CrisisLexicon, CrisisMatch, detect_crisis


@dataclass(frozen=True)
class Understanding:
    answers: Mapping[str, AnswerLexicon]  # per locale
    checkin: Mapping[str, CheckinLexicon]  # per locale
    crisis: tuple[CrisisLexicon, ...]  # every language, always all checked
    zones: frozenset[str]  # IANA names this machine knows
    default_locale: str = "en"

    def _ordered(self, table: Mapping[str, object], locale: str) -> list[str]:
        """The contact's locale first, then the default, then the rest: people switch languages."""
        order = [locale, self.default_locale, *sorted(table)]
        return [k for i, k in enumerate(order) if k in table and k not in order[:i]]

    def crisis_in(self, text: str) -> CrisisMatch | None:
        return detect_crisis(text, self.crisis)

    def read(self, expect: str, text: str, locale: str) -> Answer | None:
        if expect == "checkin":
            lexicons = [self.checkin[k] for k in self._ordered(self.checkin, locale)]
            reading = classify_checkin(text, lexicons)
            if reading.category is None and reading.window is None:
                return None
            labels: set[str] = {reading.category} if reading.category else set()
            if reading.window:
                labels |= {reading.window, "window"}
            return Answer(frozenset(labels), reading.category)
        lexicons_a = [self.answers[k] for k in self._ordered(self.answers, locale)]
        return read_answer(expect, text, lexicons_a, self.zones)
