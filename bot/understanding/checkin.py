"""Reads a family member's reply to the evening check-in: not using, use, unsure, or no answer."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.understanding.text import tokens

CheckinCategory = Literal["non_use", "use", "unsure"]
WindowKind = Literal["wish", "dip"]
# What a phrase does when found. Order = priority when two phrases of one length start together.
PhraseKind = Literal["wish", "dip", "unsure", "hedge", "negation", "answer", "soft"]
_KIND_ORDER: tuple[PhraseKind, ...] = (
    "wish",
    "dip",
    "unsure",
    "hedge",
    "negation",
    "answer",
    "soft",
)

GAP = "..."  # inside a phrase: up to _GAP_WORDS words of anything
_GAP_WORDS = 4
_AFTER_WORDS = 2  # how far after a negated phrase a softener still counts ("didn't drink a lot")
_CATEGORIES: tuple[CheckinCategory, ...] = ("non_use", "use", "unsure")
_FLIP: Mapping[str, CheckinCategory] = {"non_use": "use", "use": "non_use"}
_CLAUSE_PUNCTUATION = re.compile(r"[.,;:!?\u00a1\u00bf\u2026\n]+|\s[-\u2013\u2014~]+(?=\s|$)")
_TOP_KEYS = (
    "language",
    "answers",
    "option_fillers",
    "counted_words",
    "negations",
    "negation_reach",
    "negation_stops",
    "negation_softeners",
    "clause_breaks",
    "hedges",
    "question_words",
    "window",
)
_ANSWER_KEYS = ("options", "phrases", "soft_phrases")


@dataclass(frozen=True)
class CheckinReading:
    """What a check-in reply said, and whether it reported a window of opportunity."""

    category: CheckinCategory | None  # None: not an answer (ambiguous/unrelated) -> ask again
    window: WindowKind | None  # the loved one voiced a wish for change, or is in a dip


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]  # normalised, apostrophes removed; GAP marks "any few words"
    kind: PhraseKind
    category: CheckinCategory | None = None  # for answer / soft / unsure phrases


@dataclass(frozen=True)
class CheckinLexicon:
    """One language's words for reading check-in replies; built from YAML by load_checkin_lexicon."""

    language: str
    source: str
    options: Mapping[str, CheckinCategory]
    option_fillers: frozenset[str]
    counted_words: frozenset[str]
    phrases: Mapping[str, tuple[Phrase, ...]]  # by first word, longest first
    negation_reach: int
    negation_stops: frozenset[str]
    negation_softeners: frozenset[str]
    clause_breaks: frozenset[str]
    question_words: frozenset[str]


@dataclass(frozen=True)
class _Found:
    phrase: Phrase
    start: int
    end: int


def _words(text: str) -> tuple[str, ...]:
    """Normalised words with apostrophes dropped, so "didn't" and "didnt" are one spelling."""
    return tuple(w for w in (t.replace("'", "") for t in tokens(text)) if w)


# ---------------------------------------------------------------------------------- loading


def _fail(source: str, where: str, message: str) -> ValueError:
    return ValueError(f"{source}: {where}: {message}")


def _word_list(value: Any, source: str, where: str) -> list[str]:
    """A YAML list of words or phrases; numbers are accepted as text, true/false are not."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(
            source, where, f"expected a list of words, found {type(value).__name__} {value!r}."
        )
    out: list[str] = []
    for item in value:
        if isinstance(item, bool):
            raise _fail(
                source,
                where,
                f"found {item!r}, which YAML reads as true/false; "
                'put the word in quotes, for example "no".',
            )
        if not isinstance(item, str | int):
            raise _fail(source, where, f"every entry must be a word or phrase, found {item!r}.")
        text = str(item).strip()
        if not text:
            raise _fail(source, where, "an entry is empty; remove it or write the word.")
        out.append(text)
    return out


def _phrase(
    text: str, kind: PhraseKind, category: CheckinCategory | None, source: str, where: str
) -> Phrase:
    parts = [_words(p) for p in text.split(GAP)]
    words: list[str] = []
    for i, part in enumerate(parts):
        if not part:
            raise _fail(
                source,
                where,
                f"{text!r} has no words {'before' if i == 0 else 'after'} "
                f"'{GAP}'; '{GAP}' must stand between two words.",
            )
        words.extend([GAP, *part] if i else part)
    return Phrase(tuple(words), kind, category)


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            tip = f" Did you mean '{hint[0]}'?" if hint else f" Known keys: {', '.join(allowed)}."
            raise _fail(source, where, f"unknown key '{key}'.{tip}")


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(source, where, f"expected a mapping of names to lists, found {value!r}.")
    return value


def load_checkin_lexicon(
    data: Mapping[str, Any], language: str, source: str = "<memory>"
) -> CheckinLexicon:
    """Build a lexicon from parsed YAML; ValueError (a sentence naming the bad value) on bad data."""
    data = _mapping(data, source, "top level")
    _check_keys(data, _TOP_KEYS, source, "top level")
    declared = data.get("language", language)
    if declared != language:
        raise _fail(
            source,
            "language",
            f"the file says {declared!r} but was loaded as "
            f"{language!r}; the folder name and 'language:' must agree.",
        )
    answers = _mapping(data.get("answers"), source, "answers")
    _check_keys(answers, _CATEGORIES, source, "answers")
    options: dict[str, CheckinCategory] = {}
    lists: list[tuple[str, Any, PhraseKind, CheckinCategory | None]] = []  # where, value, kind, cat
    for category in _CATEGORIES:
        where = f"answers.{category}"
        entry = _mapping(answers.get(category) or {}, source, where)
        _check_keys(entry, _ANSWER_KEYS, source, where)
        for option in _word_list(entry.get("options"), source, f"{where}.options"):
            word = "".join(_words(option))
            if len(_words(option)) != 1 or word in options:
                raise _fail(
                    source,
                    f"{where}.options",
                    f"option {option!r} "
                    + (
                        f"is already an option for {options[word]}; one option, one answer."
                        if word in options
                        else 'must be one word or number, like "2" or two.'
                    ),
                )
            options[word] = category
        if category == "unsure" and entry.get("soft_phrases"):
            raise _fail(
                source,
                f"{where}.soft_phrases",
                "unsure phrases are never turned around, so put them under 'phrases'.",
            )
        lists.append(
            (
                f"{where}.phrases",
                entry.get("phrases"),
                "unsure" if category == "unsure" else "answer",
                category,
            )
        )
        lists.append((f"{where}.soft_phrases", entry.get("soft_phrases"), "soft", category))
    if not options:
        raise _fail(
            source,
            "answers",
            'no options are listed; each answer needs its number, for example options: ["1", one].',
        )
    window = _mapping(data.get("window") or {}, source, "window")
    _check_keys(window, ("wish", "dip"), source, "window")
    lists += [
        ("negations", data.get("negations"), "negation", None),
        ("hedges", data.get("hedges"), "hedge", None),
        ("window.wish", window.get("wish"), "wish", None),
        ("window.dip", window.get("dip"), "dip", None),
    ]
    found = [
        _phrase(text, kind, cat, source, where)
        for where, value, kind, cat in lists
        for text in _word_list(value, source, where)
    ]
    seen: dict[tuple[str, ...], Phrase] = {}
    for p in found:
        if p.words in seen and seen[p.words] != p:
            other = seen[p.words]
            raise _fail(
                source,
                " ".join(p.words),
                "this phrase is listed twice with different "
                f"meanings ({other.kind} {other.category or ''} and {p.kind} "
                f"{p.category or ''}); keep it in one list.",
            )
        seen[p.words] = p
    reach = data.get("negation_reach", 3)
    if isinstance(reach, bool) or not isinstance(reach, int) or not 0 <= reach <= _GAP_WORDS * 2:
        raise _fail(
            source,
            "negation_reach",
            f"expected a whole number from 0 to {_GAP_WORDS * 2}, found {reach!r}.",
        )
    by_first: dict[str, list[Phrase]] = {}
    for p in seen.values():
        by_first.setdefault(p.words[0], []).append(p)

    def words_of(key: str) -> frozenset[str]:
        return frozenset(w for t in _word_list(data.get(key), source, key) for w in _words(t))

    return CheckinLexicon(
        language=language,
        source=source,
        options=options,
        option_fillers=words_of("option_fillers"),
        counted_words=words_of("counted_words"),
        phrases={
            w: tuple(sorted(ps, key=lambda p: (-len(p.words), _KIND_ORDER.index(p.kind))))
            for w, ps in by_first.items()
        },
        negation_reach=reach,
        negation_stops=words_of("negation_stops"),
        negation_softeners=words_of("negation_softeners"),
        clause_breaks=words_of("clause_breaks"),
        question_words=words_of("question_words"),
    )


# ---------------------------------------------------------------------------------- reading


def _match_end(pattern: tuple[str, ...], words: tuple[str, ...], at: int) -> int | None:
    """Index after the match of `pattern` at `at`, or None; a GAP takes as few words as it can."""
    if not pattern:
        return at
    head, rest = pattern[0], pattern[1:]
    if head == GAP:
        for skip in range(_GAP_WORDS + 1):
            end = _match_end(rest, words, at + skip)
            if end is not None:
                return end
        return None
    if at < len(words) and words[at] == head:
        return _match_end(rest, words, at + 1)
    return None


def _scan(words: tuple[str, ...], lex: CheckinLexicon) -> list[_Found]:
    """Left to right; at each word the longest phrase wins, and its words are used up."""
    found: list[_Found] = []
    i = 0
    while i < len(words):
        best: _Found | None = None
        for p in lex.phrases.get(words[i], ()):
            end = _match_end(p.words, words, i)
            if end is not None and (best is None or end > best.end):
                best = _Found(p, i, end)
        if best is None:
            i += 1
        else:
            found.append(best)
            i = best.end
    return found


def _clauses(text: str, lex: CheckinLexicon) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for piece in _CLAUSE_PUNCTUATION.split(text):
        current: list[str] = []
        for w in _words(piece):
            if w in lex.clause_breaks:
                out.append(tuple(current))
                current = []
            else:
                current.append(w)
        out.append(tuple(current))
    return [c for c in out if c]


def _option(clause: tuple[str, ...], lex: CheckinLexicon) -> set[CheckinCategory]:
    """Options picked by a part that starts with one: "1", "#2", "option 3", "1 or 2"."""
    i = 0
    while i < len(clause) and clause[i] in lex.option_fillers and clause[i] not in lex.options:
        i += 1
    if i == len(clause) or clause[i] not in lex.options:
        return set()
    first = clause[i]
    rest = clause[i + 1 :]
    if not first.isdigit() and any(w not in lex.option_fillers for w in rest):
        return set()  # "one" only stands alone: "one more drink" is not option 1
    picked: set[CheckinCategory] = set()
    for j, w in enumerate(clause[i:], start=i):
        follower = clause[j + 1] if j + 1 < len(clause) else ""
        if (j == i or w.isdigit()) and w in lex.options and follower not in lex.counted_words:
            picked.add(lex.options[w])
    return picked


def _negation(
    clause: tuple[str, ...], hit: _Found, spans: list[_Found], lex: CheckinLexicon
) -> str | None:
    """'flip', 'soft' (turned around across "that"/"much"), or None when no negation reaches."""
    owner = {k: f for f in spans for k in range(f.start, f.end)}
    between = 0
    softened = False
    j = hit.start - 1
    while j >= 0 and between <= lex.negation_reach:
        f = owner.get(j)
        if f is not None and f.phrase.kind == "negation":
            after = clause[hit.end : hit.end + _AFTER_WORDS]
            softened = softened or any(w in lex.negation_softeners for w in after)
            return "soft" if softened else "flip"
        if f is None and clause[j] in lex.negation_stops:
            return None
        softened = softened or (f is None and clause[j] in lex.negation_softeners)
        between += 1
        j = (f.start if f is not None else j) - 1
    return None


def _read(text: str, lex: CheckinLexicon) -> tuple[CheckinReading, bool]:
    """The reading, and whether a negation turned an answer around on the way."""
    signals: set[CheckinCategory] = set()
    flipped = False
    hedged = False
    window: WindowKind | None = None
    for clause in _clauses(text, lex):
        signals |= _option(clause, lex)
        spans = _scan(clause, lex)
        for hit in spans:
            kind = hit.phrase.kind
            if kind in ("wish", "dip"):
                window = window or ("wish" if kind == "wish" else "dip")
                break  # the rest of this part is about feelings or hopes, not today's use
            if kind == "hedge":
                hedged = True
            elif kind == "unsure":
                signals.add("unsure")
            elif kind in ("answer", "soft") and hit.phrase.category is not None:
                turned = _negation(clause, hit, spans, lex)
                if turned is None:
                    signals.add(hit.phrase.category)
                elif turned == "flip" and kind == "answer" and hit.phrase.category in _FLIP:
                    signals.add(_FLIP[hit.phrase.category])
                    flipped = True
                else:
                    signals.add("unsure")
    category: CheckinCategory | None
    if not signals:
        category = None
    elif "unsure" in signals or len(signals) > 1 or hedged:
        category = "unsure"
    else:
        category = next(iter(signals))
    words = _words(text)
    if category in _FLIP and "?" in text and words and words[0] in lex.question_words:
        category = None  # a question is not an answer: "what if he uses tomorrow?"
    return CheckinReading(category, window), flipped


def classify_checkin(text: str, lexicons: Sequence[CheckinLexicon]) -> CheckinReading:
    """Read a reply with each lexicon (contact's language first); the first answer wins.

    Another language can veto with a negation the first one does not know: to English, "nada de
    alcohol hoy" is only "alcohol" (use), but Spanish reads "nada de" (not using): unsure.
    """
    readings = [_read(text, lex) for lex in lexicons]
    window = next((r.window for r, _ in readings if r.window is not None), None)
    answered = [(r.category, flipped) for r, flipped in readings if r.category is not None]
    if not answered:
        return CheckinReading(None, window)
    first = answered[0][0]
    if first in _FLIP and any(c == _FLIP[first] and f for c, f in answered[1:]):
        return CheckinReading("unsure", window)
    return CheckinReading(first, window)
