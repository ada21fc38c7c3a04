"""Crisis detection: does a message show an overdose, suicide risk or violence, in any language?"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.problems import Problem
from bot.understanding.text import normalize, tokens
from bot.yaml_source import did_you_mean, key_position, read_yaml, type_name

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
    matched: tuple[str, ...]  # the message's words that matched, chosen category first, for the alert
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


def _match(slots: tuple[frozenset[str], ...], keys: Sequence[frozenset[str]], i: int, s: int) -> int:
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
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# ---------------------------------------------------------------- loading


def load_crisis_lexicons(messages_dir: Path) -> tuple[CrisisLexicon, ...]:
    """Every messages/<language>/understanding/crisis.yaml, in language order."""
    lexicons = []
    for path in sorted(messages_dir.glob("*/understanding/crisis.yaml")):
        language = path.parent.parent.name
        data, problems = read_yaml(path)
        if problems:
            raise ValueError("\n".join(str(p) for p in problems))
        lexicons.append(load_crisis_lexicon(data, language, str(path)))
    if not lexicons:
        raise ValueError(f"{messages_dir}: no */understanding/crisis.yaml found; craftbot cannot "
                         "run without crisis words.")
    return tuple(lexicons)


def load_crisis_lexicon(data: Mapping[str, Any], language: str, source: str = "<memory>") -> CrisisLexicon:
    """Compile one language's crisis YAML; every problem is reported, each naming file and line."""
    reader = _Reader(source)
    if not isinstance(data, Mapping):
        reader.fail(data, None, f"the file must be a mapping with {', '.join(_TOP)}, found {type_name(data)}")
        raise ValueError(reader.report())
    for key in data:
        if key not in _TOP:
            reader.fail(data, key, f"'{key}' is not a section of a crisis lexicon (known: {', '.join(_TOP)}).",
                        did_you_mean(key, _TOP))
    if not any(c in data for c in SEVERITY):
        reader.fail(data, None, f"no category found; give at least one of {', '.join(SEVERITY)}")
    typos = data.get("typos") or {}
    if not isinstance(typos, Mapping):
        reader.fail(data, "typos", f"typos must be a mapping with min_length and real_words, found {type_name(typos)}.")
        typos = {}
    min_length = typos.get("min_length", 6)
    if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 4:
        reader.fail(typos, "min_length", f"typos.min_length must be a whole number of at least 4, found {min_length!r}")
        min_length = 6
    real_words = reader.words(typos, "real_words", "typos")
    rules: list[tuple[CrisisCategory, Phrase]] = []
    patterns: dict[CrisisCategory, tuple[re.Pattern[str], ...]] = {}
    for category in SEVERITY:
        section = data.get(category)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            reader.fail(data, category, f"{category} must be a mapping with {', '.join(_LISTS)}, found {type_name(section)}")
            continue
        for key in section:
            if key not in _LISTS:
                reader.fail(section, key, f"{category}: '{key}' is not a list of a category (known: {', '.join(_LISTS)}).",
                            did_you_mean(key, _LISTS))
        entries = [reader.phrase(section, "words", i, v, category, single=True) for i, v in reader.items(section, "words", category)]
        entries += [reader.phrase(section, "phrases", i, v, category) for i, v in reader.items(section, "phrases", category)]
        entries += [reader.short_form(section, i, v, category) for i, v in reader.items(section, "short_forms", category)]
        rules += [(category, e) for e in entries if e is not None]
        compiled = [reader.pattern(section, i, v, category) for i, v in reader.items(section, "patterns", category)]
        patterns[category] = tuple(p for p in compiled if p is not None)
    exceptions = tuple(e for i, v in reader.items(data, "exceptions", "") if (e := reader.phrase(data, "exceptions", i, v, "")))
    if reader.problems:
        raise ValueError(reader.report())
    vocab = {w for _, e in rules for slot in e.slots for w in slot
             if len(w) >= min_length and w.isalpha() and e.text not in reader.short_forms}
    typo_index: dict[str, set[str]] = {}
    for word in vocab:
        for variant in (word, *_deletions(word)):
            typo_index.setdefault(variant, set()).add(word)
    first: dict[str, list[int]] = {}
    for i, (_, entry) in enumerate(rules):
        for word in entry.slots[0]:
            first.setdefault(word, []).append(i)
    every_word = frozenset(w for _, e in rules for slot in e.slots for w in slot)
    return CrisisLexicon(language, source, tuple(rules), {k: tuple(v) for k, v in first.items()},
                         patterns, exceptions, every_word,
                         {k: frozenset(v) for k, v in typo_index.items()},
                         frozenset(real_words), min_length)


class _Reader:
    """Collects every problem in one lexicon file instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.short_forms: set[str] = set()

    def fail(self, node: Any, key: Any, message: str, hint: str = "") -> None:
        line, col = key_position(node, key) if key is not None else (1, 1)
        self.problems.append(Problem(self.source, line, col, "", message, hint))

    def report(self) -> str:
        return "\n".join(str(p) for p in sorted(self.problems))

    def items(self, node: Mapping[str, Any], key: str, where: str) -> list[tuple[int, str]]:
        values = node.get(key)
        if values is None:
            return []
        name = f"{where}.{key}" if where else key
        if not isinstance(values, list):
            self.fail(node, key, f"{name} must be a list, found {type_name(values)}.")
            return []
        good = []
        for i, value in enumerate(values):
            if isinstance(value, str) and value.strip():
                good.append((i, value))
            else:
                self.fail(values, i, f"{name}[{i}] must be a word or phrase in quotes or plain text, found {type_name(value)}.")
        return good

    def words(self, node: Mapping[str, Any], key: str, where: str) -> list[str]:
        return [normalize(v).replace("'", "") for _, v in self.items(node, key, where)]

    def phrase(self, node: Mapping[str, Any], key: str, i: int, raw: str, where: str, single: bool = False) -> Phrase | None:
        name = f"{where}.{key}[{i}]" if where else f"{key}[{i}]"
        seq = node[key]
        parts = raw.split()
        if single and len(parts) != 1:
            self.fail(seq, i, f"{name}: '{raw}' is more than one word; put it under phrases:.")
            return None
        if "*" in (parts[0], parts[-1]):
            self.fail(seq, i, f"{name}: '{raw}' starts or ends with '*'; a phrase must start and "
                      "end with a word (or '#').")
            return None
        slots: list[frozenset[str]] = []
        for part in parts:
            if part == "*":
                if slots and not slots[-1]:
                    self.fail(seq, i, f"{name}: '{raw}' has two '*' in a row; one '*' already allows {_MAX_GAP} words.")
                    return None
                slots.append(_GAP)
                continue
            if part == "#":
                slots.append(frozenset({_NUMBER}))
                continue
            choices = [normalize(c).replace("'", "") for c in part.split("|")]
            if any(not c or " " in c for c in choices):
                self.fail(seq, i, f"{name}: '{part}' in '{raw}' has an empty or non-word choice; "
                          "write choices as single words joined by '|', like 'cant|cannot'.")
                return None
            slots.append(frozenset(choices))
        return Phrase(raw, tuple(slots))

    def short_form(self, node: Mapping[str, Any], i: int, raw: str, where: str) -> Phrase | None:
        form = normalize(raw)
        if not form or " " in form:
            self.fail(node["short_forms"], i, f"{where}.short_forms[{i}]: '{raw}' must be one word "
                      "(letters, digits and apostrophes).")
            return None
        self.short_forms.add(raw)
        return Phrase(raw, (frozenset({form}),))

    def pattern(self, node: Mapping[str, Any], i: int, raw: str, where: str) -> re.Pattern[str] | None:
        try:
            return re.compile(raw)
        except re.error as exc:
            self.fail(node["patterns"], i, f"{where}.patterns[{i}]: '{raw}' is not a valid regular expression ({exc}).")
            return None
