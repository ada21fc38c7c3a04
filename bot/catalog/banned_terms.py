"""The one list of stigmatizing words (messages/banned_terms.yaml) and finding them in a text.

`craftbot flows validate`, `craftbot content check`, the content tests and docs/content.md all use
this list; a test keeps the words docs/content.md names and this file in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.problems import Problem
from bot.understanding.text import strip_accents
from bot.yaml_source import key_position, read_yaml

FORMAT = (
    "expected `terms:` (a list of `- words: [...]` with `instead: ...`) and optionally "
    "`allow:` (a list of phrases)"
)


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    instead: str = ""


@dataclass(frozen=True)
class Found:
    word: str  # as written in the text
    term: Term


@dataclass(frozen=True)
class BannedTerms:
    terms: tuple[Term, ...] = ()
    allow: tuple[str, ...] = ()  # phrases removed before matching: names, safety wording

    @classmethod
    def of_words(cls, words: Iterable[str]) -> BannedTerms:
        return cls((Term(tuple(words)),))

    def without_accents(self) -> BannedTerms:
        """The same list for matching text whose accents are stripped too ("alcohólico" and
        "alcoholico" alike: Spanish SMS forms often leave accents out)."""
        return BannedTerms(
            tuple(Term(tuple(map(strip_accents, t.words)), t.instead) for t in self.terms),
            tuple(map(strip_accents, self.allow)),
        )

    def words(self) -> list[str]:
        return [w for t in self.terms for w in t.words]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in (w.lower() for w in self.words())

    def __iter__(self) -> Iterator[str]:
        return iter(self.words())

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        words = sorted(
            {w.strip().lower() for w in self.words() if w.strip()}, key=len, reverse=True
        )
        if not words:
            return None
        return re.compile(
            r"(?<![\w'])(" + "|".join(re.escape(w) for w in words) + r")(?![\w'])", re.IGNORECASE
        )

    @cached_property
    def _allowed(self) -> re.Pattern[str] | None:
        if not self.allow:
            return None
        return re.compile("|".join(re.escape(a) for a in self.allow), re.IGNORECASE)

    def find(self, text: str) -> Found | None:
        """The first banned word in `text`, once the allowed phrases are set aside."""
        if self._pattern is None:
            return None
        cleaned = self._allowed.sub(" ", text) if self._allowed else text
        hit = self._pattern.search(cleaned)
        if hit is None:
            return None
        said = hit.group(0).lower()
        term = next(t for t in self.terms if said in (w.lower() for w in t.words))
        return Found(hit.group(0), term)


def load_banned_terms(path: Path) -> tuple[BannedTerms, list[Problem]]:
    data, problems = read_yaml(path)
    if problems:
        return BannedTerms(), problems
    if not isinstance(data, Mapping) or not isinstance(data.get("terms"), list):
        return BannedTerms(), [Problem(str(path), 1, 1, "", FORMAT)]
    terms: list[Term] = []
    for i, raw in enumerate(data["terms"]):
        words = raw.get("words") if isinstance(raw, Mapping) else None
        if not isinstance(words, list) or not words:
            line, col = key_position(data["terms"], i)
            problems.append(
                Problem(str(path), line, col, f"term {i + 1}", "a term needs `words:`, a list")
            )
            continue
        terms.append(Term(tuple(str(w) for w in words), str(raw.get("instead") or "")))
    allow: Any = data.get("allow") or []
    if not isinstance(allow, list):
        line, col = key_position(data, "allow")
        problems.append(Problem(str(path), line, col, "allow", "`allow:` must be a list"))
        allow = []
    return BannedTerms(tuple(terms), tuple(str(a) for a in allow)), problems
