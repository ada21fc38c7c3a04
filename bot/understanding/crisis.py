"""Crisis detection: does a message show an overdose, suicide risk or violence, in any language?"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.understanding.text import tokens

CrisisCategory = Literal["overdose", "suicide", "violence"]
# Most urgent first: the reply follows the first category that matched.
SEVERITY: tuple[CrisisCategory, ...] = ("overdose", "suicide", "violence")

_GAP: frozenset[str] = frozenset()  # "*": up to _MAX_GAP other words
_NUMBER = "#"  # "#": any number; a numeric token carries this key too
_MAX_GAP = 3
_LISTS = ("words", "phrases", "short_forms", "patterns")
_TOP = ("exceptions", "typos", *SEVERITY)


@dataclass(frozen=True)
class CrisisMatch:
    category: CrisisCategory
    matched: tuple[
        str, ...
    ]  # the message's words that matched, chosen category first, for the alert
    language: str  # lexicon language that matched the chosen category ("en", "es")


@dataclass(frozen=True)
class Phrase:
    """One lexicon entry: the words allowed at each place; an empty set is a '*' gap."""

    text: str  # as the admin wrote it; reported in alerts
    slots: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class CrisisLexicon:
    """One language's crisis words, compiled for fast matching."""

    language: str
    source: str
    rules: tuple[tuple[CrisisCategory, Phrase], ...]  # words, phrases and short forms, file order
    by_first_word: Mapping[str, tuple[int, ...]]  # first-slot word -> indexes into rules
    patterns: Mapping[CrisisCategory, tuple[re.Pattern[str], ...]]
    exceptions: tuple[Phrase, ...]
    vocabulary: frozenset[str]  # every word an entry names, to tell this language's words apart
    typo_index: Mapping[str, frozenset[str]]  # a word and each one-letter deletion -> lexicon words
    real_words: frozenset[str]
    min_typo_length: int

    def scan(self, words: Sequence[str]) -> dict[CrisisCategory, list[tuple[str, int]]]:
        """Every category this lexicon finds in tokenised text: the matched words as typed, each
        with how many of them are this language's own words spelled right (to name the language)."""
        keys = [self._keys(w) for w in words]
        for phrase in self.exceptions:  # idioms out first; a removed word never matches or bridges
            for start, end in _spans(phrase, keys):
                keys[start:end] = [frozenset()] * (end - start)
        # Only entries whose first word occurs can match: this keeps a message well under 1 ms.
        candidates = sorted({i for k in keys for key in k for i in self.by_first_word.get(key, ())})
        found: dict[CrisisCategory, list[tuple[str, int]]] = {}
        for i in candidates:
            category, phrase = self.rules[i]
            span = next(_spans(phrase, keys), None)
            if span is not None:  # report the words as typed: "breething", "took a bunch of pills"
                typed = words[span[0] : span[1]]
                own = sum(w.replace("'", "") in self.vocabulary for w in typed)
                found.setdefault(category, []).append((" ".join(typed), own))
        text = " ".join("_" if not k else w for w, k in zip(words, keys, strict=True))
        for category, compiled in self.patterns.items():
            for m in filter(None, (rx.search(text) for rx in compiled)):
                found.setdefault(category, []).append((m.group(0), len(m.group(0).split())))
        return found

    def _keys(self, word: str) -> frozenset[str]:
        """What one typed word may stand for: itself, without apostrophes, and the crisis word it
        is one typo away from ("breething" -> "breathing")."""
        plain = word.replace("'", "")
        keys = {word, plain}
        if plain.isdigit():
            keys.add(_NUMBER)
        if len(plain) >= self.min_typo_length - 1 and plain not in self.real_words:
            for variant in (plain, *_deletions(plain)):
                for known in self.typo_index.get(variant, ()):
                    if known != plain and _one_edit(plain, known):
                        keys.add(known)
        return frozenset(keys)


def detect_crisis(text: str, lexicons: Sequence[CrisisLexicon]) -> CrisisMatch | None:
    """The most urgent crisis any lexicon finds, or None. Pure: no I/O, no state.

    Every lexicon is checked: people switch languages under stress. Negation never cancels
    ("he's not breathing" is an overdose). "he has a gun and says he'll shoot himself" -> suicide,
    matched ("shoot ... himself", "gun").
    """
    words = tokens(text)
    if not words:
        return None
    found: dict[CrisisCategory, list[tuple[str, str, int]]] = {}
    for lexicon in lexicons:
        for category, hits in lexicon.scan(words).items():
            found.setdefault(category, []).extend((lexicon.language, h, own) for h, own in hits)
    if not found:
        return None
    chosen = next(c for c in SEVERITY if c in found)
    ordered = [h for c in SEVERITY for _, h, _ in found.get(c, [])]
    # The language whose own words matched most ("tiene una pistola" is Spanish, although
    # "pistola" is also one typo from the English "pistol"); a tie goes to the first lexicon.
    score: dict[str, int] = {}
    for language, _, own in found[chosen]:
        score[language] = score.get(language, 0) + own
    language = max(score, key=lambda lang: score[lang])
    return CrisisMatch(chosen, tuple(dict.fromkeys(ordered)), language)


def _spans(phrase: Phrase, keys: Sequence[frozenset[str]]) -> Iterator[tuple[int, int]]:
    """(start, end) of each place the phrase occurs, leftmost first, not overlapping."""
    start = 0
    while start < len(keys):
        end = _match(phrase.slots, keys, start, 0)
        if end >= 0:
            yield start, end
            start = max(end, start + 1)
        else:
            start += 1


def _match(
    slots: tuple[frozenset[str], ...], keys: Sequence[frozenset[str]], i: int, s: int
) -> int:
    if s == len(slots):
        return i
    if not slots[s]:  # a gap
        for skip in range(_MAX_GAP + 1):
            if i + skip > len(keys) or (skip and not keys[i + skip - 1]):
                break
            end = _match(slots, keys, i + skip, s + 1)
            if end >= 0:
                return end
        return -1
    if i < len(keys) and not slots[s].isdisjoint(keys[i]):
        return _match(slots, keys, i + 1, s + 1)
    return -1


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
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


# ---------------------------------------------------------------- loading
