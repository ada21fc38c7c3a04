"""What every language teaches the reader: spellings, emoji, typos, classes and context rules.

All languages are merged into one `Language`: people switch languages under stress and mix them
("my son no respira"), so every message is read with every language's words. Each word of a
message is turned into its keys (what it may stand for): itself, the word a common misspelling or
an apostrophe-less contraction maps to ("doesnt", "dosnt" -> "doesnt"; "ODd" -> "overdosed"), the
word an emoji stands for, the word with runs of letters cut ("nooo" -> "no"), and the lexicon word
it is one typo away from ("breething" -> "breathing").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.understanding.context import ContextRules, Hit, Modifier, Place
from bot.understanding.patterns import NUMBER, YEAR, Keys
from bot.understanding.text import Word, split

_RUNS = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True)
class Parsed:
    """A message read once: its words, their keys and places, and every context trigger in it."""

    text: str
    words: tuple[Word, ...]
    place: Place
    hits: tuple[Hit, ...]
    context: ContextRules

    def modifiers(
        self, start: int, end: int, kinds: frozenset[str] | None = None, category: str = ""
    ) -> tuple[Modifier, ...]:
        """The modifiers that govern words[start:end]."""
        return self.context.modifiers(self.place, self.hits, start, end, kinds, category)

    @property
    def keys(self) -> tuple[Keys, ...]:
        return tuple(self.place.keys)

    def typed(self, start: int, end: int) -> str:
        return " ".join(self.place.typed[start:end])


@dataclass(frozen=True)
class Language:
    spellings: Mapping[str, str]  # "dosnt" -> "doesnt"; "od'd" -> "overdosed"; "ODd" (case kept)
    emoji: Mapping[str, frozenset[str]]  # "👍" -> {"good", "bien"}: one word per language
    real_words: frozenset[
        str
    ]  # right spellings never taken for a typo ("cooking" is not "choking")
    vocabulary: frozenset[str]  # every word a lexicon names
    typo_index: Mapping[str, frozenset[str]]  # a long word and each one-letter deletion -> words
    min_typo_length: int
    context: ContextRules
    _memo: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Words repeat across messages; keying one costs a few microseconds, a lookup far less.
        object.__setattr__(self, "_memo", lru_cache(maxsize=65536)(self._keys))

    def keys(self, word: Word) -> Keys:
        memo: Any = self._memo
        result: Keys = memo(word.typed, word.plain, word.emoji)
        return result

    def parse(self, text: str) -> Parsed:
        words = split(text)
        keys = [self.keys(w) for w in words]
        ends: list[int] = []
        for i in range(len(words) - 1, -1, -1):
            same = i + 1 < len(words) and words[i + 1].sentence == words[i].sentence
            ends.append(ends[-1] if same else i + 1)
        ends.reverse()
        place = Place(
            keys,
            [w.typed for w in words],
            [w.sentence for w in words],
            [w.clause for w in words],
            ends,
        )
        return Parsed(text, words, place, tuple(self.context.triggers(place)), self.context)

    def _keys(self, typed: str, plain: str, emoji: bool) -> Keys:
        if emoji:
            return self.emoji.get(typed, frozenset())
        keys = {plain}
        folded = typed.casefold()
        for form in (typed, folded, plain):
            if form in self.spellings:
                keys.add(self.spellings[form])
        if plain.isdigit():
            keys.add(NUMBER)
            if len(plain) == 4 and plain[:2] in ("19", "20"):
                keys.add(YEAR)
        if _RUNS.search(folded):
            single = re.sub(r"([a-z])\1+", r"\1", plain)
            if single in self.vocabulary:
                keys.add(single)
        if (
            len(plain) >= self.min_typo_length - 1
            and plain not in self.real_words
            and plain not in self.vocabulary
        ):
            for variant in (plain, *deletions(plain)):
                for known in self.typo_index.get(variant, ()):
                    if one_edit(plain, known):
                        keys.add(known)
        return frozenset(keys)


def typo_index(vocabulary: frozenset[str], min_length: int) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for word in vocabulary:
        if len(word) >= min_length and word.isalpha():
            for variant in (word, *deletions(word)):
                index.setdefault(variant, set()).add(word)
    return {k: frozenset(v) for k, v in index.items()}


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
