"""Which language a message is written in, from the words craftbot already knows per language.

One mechanism, the one crisis detection uses to name a language: count the message's words that
belong to one language only. The words are every language's own: keywords listed under a
language (PARAR, AYUDA), the newcomers' greetings (`join: greetings:` in flows/keywords.yaml),
and the understanding lexicons (answers, check-in and crisis words). A word two languages share
("no", "ok", "taco") tells nothing; a tie, a number or a Telegram command (/start) tells nothing,
and the bot then asks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.understanding.text import tokens


@dataclass(frozen=True)
class Languages:
    own: Mapping[str, str] = field(default_factory=dict)  # normalised word -> its one language

    @classmethod
    def from_words(cls, words: Mapping[str, Iterable[str]]) -> Languages:
        """`words` maps a language to words or phrases of it (any case, accents or not)."""
        owners: dict[str, set[str]] = {}
        for language, phrases in words.items():
            for phrase in phrases:
                for word in tokens(phrase):
                    if not word.isdigit():
                        owners.setdefault(word, set()).add(language)
        return cls({w: next(iter(langs)) for w, langs in owners.items() if len(langs) == 1})

    def tagged(self, tag: str | None) -> str | None:
        """A provider's language tag ("es-MX", Telegram's language_code) when we speak it."""
        primary = (tag or "").split("-")[0].split("_")[0].lower()
        return primary if primary and primary in set(self.own.values()) else None

    def guess(self, text: str) -> str | None:
        """ "hola, quiero información" -> "es"; "hi" -> "en"; "Ana", "2", "/start" -> None."""
        if text.strip().startswith("/"):
            return None
        counts = Counter(self.own[w] for w in tokens(text) if w in self.own)
        ranked = counts.most_common(2)
        if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
            return None
        return ranked[0][0]
