"""The one phrase language of every lexicon, and the matcher that finds phrases in keyed words.

A phrase is words in order. At each place:
    word       that word (any spelling the language maps to it, or one typo away when long)
    a|b|c      any one of these words; join words with _ for a choice of several words
               ("isnt|no_longer breathing" is "isnt breathing" or "no longer breathing")
    *          up to GAP_WORDS other words (also written "..."); *1 to *9: up to that many
    #          any number; #year: a year (1900-2099)
    @name      any entry of the class `name` (classes may hold several words: "@child" has
               "little one" and "# year old")
A phrase starts and ends with a word, a number or a class, never with a gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot.understanding.text import plain

GAP_WORDS = 4
NUMBER = "#"  # a key every number carries, and the slot that matches it
YEAR = "#year"  # a key a year (1900-2099) carries
Keys = frozenset[str]  # what one word may stand for; empty for a word an idiom removed


@dataclass(frozen=True)
class Choice:
    words: frozenset[str]


@dataclass(frozen=True)
class Gap:
    size: int = GAP_WORDS


@dataclass(frozen=True)
class ClassSlot:
    name: str
    members: tuple[tuple[Choice, ...], ...]
    # first word -> the members that start with it: a class of 100 entries tries only a few
    by_first: Mapping[str, tuple[tuple[Choice, ...], ...]] = field(
        default_factory=dict, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index: dict[str, list[tuple[Choice, ...]]] = {}
        for member in self.members:
            for word in member[0].words:
                index.setdefault(word, []).append(member)
        object.__setattr__(self, "by_first", {k: tuple(v) for k, v in index.items()})


Slot = Choice | Gap | ClassSlot


@dataclass(frozen=True)
class Pattern:
    text: str  # as the admin wrote it: shown in explanations
    slots: tuple[Slot, ...]
    where: str = ""  # "messages/en/understanding/crisis.yaml:120", for explanations
    # words only (no gap, no class): matched by a plain loop, the common and fast case
    plain: tuple[frozenset[str], ...] | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        if all(isinstance(s, Choice) for s in self.slots):
            words = tuple(s.words for s in self.slots if isinstance(s, Choice))
            object.__setattr__(self, "plain", words)

    def first_words(self) -> frozenset[str]:
        first = self.slots[0]
        if isinstance(first, Choice):
            return first.words
        assert isinstance(first, ClassSlot)
        return frozenset(w for member in first.members for w in member[0].words)


class PatternError(ValueError):
    """A phrase an admin wrote that cannot be read; the message says what to change."""


def compile_pattern(
    text: str,
    classes: Mapping[str, tuple[tuple[Choice, ...], ...]] | None = None,
    where: str = "",
) -> Pattern:
    """'cant|cannot wake * up' -> a Pattern; PatternError with a sentence an admin can act on."""
    parts = str(text).split()
    if not parts:
        raise PatternError("the entry is empty; remove it or write the words")
    slots: list[Slot] = []
    for part in parts:
        if part in ("*", "...") or re.fullmatch(r"\*[1-9]", part):
            if not slots or isinstance(slots[-1], Gap):
                raise PatternError(
                    f"'{text}' starts with a gap or has two gaps in a row; one '*' already "
                    f"allows up to {GAP_WORDS} words"
                )
            slots.append(Gap(int(part[1]) if len(part) == 2 and part[1].isdigit() else GAP_WORDS))
        elif "@" in part or "_" in part:
            slots.append(class_slot(part, text, classes or {}))
        else:
            slots.append(choice(part, text))
    if isinstance(slots[-1], Gap):
        raise PatternError(f"'{text}' ends with a gap; a phrase must end with a word")
    return Pattern(str(text), tuple(slots), where)


def class_slot(
    part: str, text: str, classes: Mapping[str, tuple[tuple[Choice, ...], ...]]
) -> ClassSlot:
    """'@kin|him|her': any entry of the class, or one of the words; 'no_longer|not': words."""
    members: list[tuple[Choice, ...]] = []
    for alternative in part.split("|"):
        if not alternative.startswith("@"):
            members.append(tuple(choice(w, text) for w in alternative.split("_")))
            continue
        if alternative[1:] not in classes:
            known = ", ".join(f"@{c}" for c in sorted(classes)) or "none"
            raise PatternError(f"'{alternative}' in '{text}' is not a class (known: {known})")
        members += classes[alternative[1:]]
    return ClassSlot(part, tuple(dict.fromkeys(members)))


def choice(part: str, text: str) -> Choice:
    words = [w if w in (NUMBER, YEAR) else plain(w) for w in part.split("|")]
    if any(not w or not (w in (NUMBER, YEAR) or w.isalnum()) for w in words):
        raise PatternError(
            f"'{part}' in '{text}' has an empty or non-word choice; write choices as single "
            "words joined by '|', like 'cant|cannot'"
        )
    return Choice(frozenset(words))


def compile_member(text: str, where: str) -> tuple[Choice, ...]:
    """One entry of a class: words, choices and numbers only (no gaps, no other classes)."""
    parts = str(text).split()
    if not parts:
        raise PatternError(f"{where}: an entry is empty")
    if any(p in ("*", "...") or p.startswith("@") for p in parts):
        raise PatternError(f"{where}: '{text}' may hold words, a|b and # only (no * or @class)")
    return tuple(choice(p, text) for p in parts)


class Matcher:
    """Patterns indexed by their first words, so only a few are tried at each word."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = tuple(patterns)
        index: dict[str, list[int]] = {}
        for i, pattern in enumerate(self.patterns):
            for word in pattern.first_words():
                index.setdefault(word, []).append(i)
        self._index = {k: tuple(v) for k, v in index.items()}
        # per pattern, the keys one of which some later word must hold (None: nothing later)
        self._needs = tuple(_rarest_need(p) for p in self.patterns)

    def candidates(self, keys: Keys) -> Sequence[int]:
        """The patterns that may start at a word with these keys, in file order."""
        if len(keys) == 1:  # most words: the index holds them in order already
            (key,) = keys
            return self._index.get(key, ())
        found: set[int] = set()
        for key in keys:
            found.update(self._index.get(key, ()))
        return sorted(found)

    def viable(self, keys: Keys, present: Keys) -> list[int]:
        """The candidates at a word that may match among words holding only the keys `present`:
        a pattern with a later word (or class) that none of them can be is not tried (half the
        time of a crisis reading)."""
        needs = self._needs
        return [
            p
            for p in self.candidates(keys)
            if (need := needs[p]) is None or not need.isdisjoint(present)
        ]

    def find_all(self, keys: Sequence[Keys], start: int, end: int) -> list[tuple[int, int, int]]:
        """(pattern index, start, end) of every occurrence in keys[start:end], each pattern's
        occurrences not overlapping one another, in text order."""
        found: list[tuple[int, int, int]] = []
        taken: dict[int, int] = {}  # pattern -> where its last occurrence ended
        present = frozenset().union(*keys[start:end])
        for i in range(start, end):
            for p in self.viable(keys[i], present):
                if taken.get(p, -1) > i:
                    continue
                stop = match_pattern(self.patterns[p], keys, i, end)
                if stop >= 0:
                    found.append((p, i, stop))
                    taken[p] = stop
        return found

    def scan(self, keys: Sequence[Keys], start: int, end: int) -> list[tuple[int, int, int]]:
        """(pattern, start, end) left to right, each word used once: at each word the longest
        phrase wins, unless a longer one starts on the next word ("hoy | no se drogo")."""
        found: list[tuple[int, int, int]] = []
        present = frozenset().union(*keys[start:end])
        i = start
        while i < end:
            best = self.longest_at(keys, i, end, present)
            if best is None:
                i += 1
                continue
            later = self.longest_at(keys, i + 1, end, present) if i + 1 < end else None
            if later is not None and later[1] > best[1] and later[1] - i - 1 > best[1] - i:
                i += 1
                continue
            found.append((best[0], i, best[1]))
            i = best[1]
        return found

    def longest_at(
        self, keys: Sequence[Keys], i: int, end: int, present: Keys
    ) -> tuple[int, int] | None:
        """(pattern index, end) of the longest pattern starting at word i; ties go to file order.
        `present`: every key of keys[i:end] (or more), as `viable` takes it."""
        best: tuple[int, int] | None = None
        for p in self.viable(keys[i], present):
            stop = match_pattern(self.patterns[p], keys, i, end)
            if stop >= 0 and (best is None or stop > best[1]):
                best = (p, stop)
        return best


def _rarest_need(pattern: Pattern) -> Keys | None:
    """The fewest keys one of which a word after the first must hold for the pattern to match (a
    word, a choice of words, or the first words of a class's entries); None: one slot only."""
    needs = [
        slot.words if isinstance(slot, Choice) else frozenset(slot.by_first)
        for slot in pattern.slots[1:]
        if not isinstance(slot, Gap)
    ]
    return min(needs, key=len, default=None)


def match_pattern(pattern: Pattern, keys: Sequence[Keys], i: int, end: int) -> int:
    words = pattern.plain
    if words is None:
        return match(pattern.slots, keys, i, end)
    if i + len(words) > end:
        return -1
    for offset, choice in enumerate(words):
        if choice.isdisjoint(keys[i + offset]):
            return -1
    return i + len(words)


def match(slots: Sequence[Slot], keys: Sequence[Keys], i: int, end: int) -> int:
    """Where a match of slots starting at word i ends (exclusive), or -1. Gaps take as few words
    as they can, never cross a removed word, and never pass `end` (the sentence's end)."""
    return next(_ends(tuple(slots), keys, i, end, 0), -1)


def _ends(slots: tuple[Slot, ...], keys: Sequence[Keys], i: int, end: int, s: int) -> Iterator[int]:
    if s == len(slots):
        yield i
        return
    slot = slots[s]
    if isinstance(slot, Gap):
        for skip in range(slot.size + 1):
            if i + skip > end or (skip and not keys[i + skip - 1]):
                return
            yield from _ends(slots, keys, i + skip, end, s + 1)
        return
    if isinstance(slot, Choice):
        if i < end and not slot.words.isdisjoint(keys[i]):
            yield from _ends(slots, keys, i + 1, end, s + 1)
        return
    if i >= end:
        return
    tried: set[int] = set()
    for key in keys[i]:
        for member in slot.by_first.get(key, ()):
            after = _member_end(member, keys, i, end)
            if after >= 0 and after not in tried:
                tried.add(after)
                yield from _ends(slots, keys, after, end, s + 1)


def _member_end(member: tuple[Choice, ...], keys: Sequence[Keys], i: int, end: int) -> int:
    if i + len(member) > end:
        return -1
    for offset, part in enumerate(member):
        if part.words.isdisjoint(keys[i + offset]):
            return -1
    return i + len(member)
