"""Reading crisis lexicons from YAML (admins edit them); kept apart so detection stays pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.problems import Problem
from bot.understanding.crisis import (
    _GAP,
    _LISTS,
    _MAX_GAP,
    _NUMBER,
    _TOP,
    SEVERITY,
    CrisisCategory,
    CrisisLexicon,
    Phrase,
    _deletions,
)
from bot.understanding.text import normalize
from bot.yaml_source import did_you_mean, key_position, read_yaml, type_name


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
        raise ValueError(
            f"{messages_dir}: no */understanding/crisis.yaml found; craftbot cannot "
            "run without crisis words."
        )
    return tuple(lexicons)


def load_crisis_lexicon(
    data: Mapping[str, Any], language: str, source: str = "<memory>"
) -> CrisisLexicon:
    """Compile one language's crisis YAML; every problem is reported, each naming file and line."""
    reader = _Reader(source)
    if not isinstance(data, Mapping):
        reader.fail(
            data,
            None,
            f"the file must be a mapping with {', '.join(_TOP)}, found {type_name(data)}",
        )
        raise ValueError(reader.report())
    for key in data:
        if key not in _TOP:
            reader.fail(
                data,
                key,
                f"'{key}' is not a section of a crisis lexicon (known: {', '.join(_TOP)}).",
                did_you_mean(key, _TOP),
            )
    if not any(c in data for c in SEVERITY):
        reader.fail(data, None, f"no category found; give at least one of {', '.join(SEVERITY)}")
    typos = data.get("typos") or {}
    if not isinstance(typos, Mapping):
        reader.fail(
            data,
            "typos",
            f"typos must be a mapping with min_length and real_words, found {type_name(typos)}.",
        )
        typos = {}
    min_length = typos.get("min_length", 6)
    if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 4:
        reader.fail(
            typos,
            "min_length",
            f"typos.min_length must be a whole number of at least 4, found {min_length!r}",
        )
        min_length = 6
    real_words = reader.words(typos, "real_words", "typos")
    rules: list[tuple[CrisisCategory, Phrase]] = []
    patterns: dict[CrisisCategory, tuple[re.Pattern[str], ...]] = {}
    for category in SEVERITY:
        section = data.get(category)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            reader.fail(
                data,
                category,
                f"{category} must be a mapping with {', '.join(_LISTS)}, found {type_name(section)}",
            )
            continue
        for key in section:
            if key not in _LISTS:
                reader.fail(
                    section,
                    key,
                    f"{category}: '{key}' is not a list of a category (known: {', '.join(_LISTS)}).",
                    did_you_mean(key, _LISTS),
                )
        entries = [
            reader.phrase(section, "words", i, v, category, single=True)
            for i, v in reader.items(section, "words", category)
        ]
        entries += [
            reader.phrase(section, "phrases", i, v, category)
            for i, v in reader.items(section, "phrases", category)
        ]
        entries += [
            reader.short_form(section, i, v, category)
            for i, v in reader.items(section, "short_forms", category)
        ]
        rules += [(category, e) for e in entries if e is not None]
        compiled = [
            reader.pattern(section, i, v, category)
            for i, v in reader.items(section, "patterns", category)
        ]
        patterns[category] = tuple(p for p in compiled if p is not None)
    exceptions = tuple(
        e
        for i, v in reader.items(data, "exceptions", "")
        if (e := reader.phrase(data, "exceptions", i, v, ""))
    )
    if reader.problems:
        raise ValueError(reader.report())
    vocab = {
        w
        for _, e in rules
        for slot in e.slots
        for w in slot
        if len(w) >= min_length and w.isalpha() and e.text not in reader.short_forms
    }
    typo_index: dict[str, set[str]] = {}
    for word in vocab:
        for variant in (word, *_deletions(word)):
            typo_index.setdefault(variant, set()).add(word)
    first: dict[str, list[int]] = {}
    for i, (_, entry) in enumerate(rules):
        for word in entry.slots[0]:
            first.setdefault(word, []).append(i)
    every_word = frozenset(w for _, e in rules for slot in e.slots for w in slot)
    return CrisisLexicon(
        language,
        source,
        tuple(rules),
        {k: tuple(v) for k, v in first.items()},
        patterns,
        exceptions,
        every_word,
        {k: frozenset(v) for k, v in typo_index.items()},
        frozenset(real_words),
        min_length,
    )


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
                self.fail(
                    values,
                    i,
                    f"{name}[{i}] must be a word or phrase in quotes or plain text, found {type_name(value)}.",
                )
        return good

    def words(self, node: Mapping[str, Any], key: str, where: str) -> list[str]:
        return [normalize(v).replace("'", "") for _, v in self.items(node, key, where)]

    def phrase(
        self, node: Mapping[str, Any], key: str, i: int, raw: str, where: str, single: bool = False
    ) -> Phrase | None:
        name = f"{where}.{key}[{i}]" if where else f"{key}[{i}]"
        seq = node[key]
        parts = raw.split()
        if single and len(parts) != 1:
            self.fail(seq, i, f"{name}: '{raw}' is more than one word; put it under phrases:.")
            return None
        if "*" in (parts[0], parts[-1]):
            self.fail(
                seq,
                i,
                f"{name}: '{raw}' starts or ends with '*'; a phrase must start and "
                "end with a word (or '#').",
            )
            return None
        slots: list[frozenset[str]] = []
        for part in parts:
            if part == "*":
                if slots and not slots[-1]:
                    self.fail(
                        seq,
                        i,
                        f"{name}: '{raw}' has two '*' in a row; one '*' already allows {_MAX_GAP} words.",
                    )
                    return None
                slots.append(_GAP)
                continue
            if part == "#":
                slots.append(frozenset({_NUMBER}))
                continue
            choices = [normalize(c).replace("'", "") for c in part.split("|")]
            if any(not c or " " in c for c in choices):
                self.fail(
                    seq,
                    i,
                    f"{name}: '{part}' in '{raw}' has an empty or non-word choice; "
                    "write choices as single words joined by '|', like 'cant|cannot'.",
                )
                return None
            slots.append(frozenset(choices))
        return Phrase(raw, tuple(slots))

    def short_form(self, node: Mapping[str, Any], i: int, raw: str, where: str) -> Phrase | None:
        form = normalize(raw)
        if not form or " " in form:
            self.fail(
                node["short_forms"],
                i,
                f"{where}.short_forms[{i}]: '{raw}' must be one word "
                "(letters, digits and apostrophes).",
            )
            return None
        self.short_forms.add(raw)
        return Phrase(raw, (frozenset({form}),))

    def pattern(
        self, node: Mapping[str, Any], i: int, raw: str, where: str
    ) -> re.Pattern[str] | None:
        try:
            return re.compile(raw)
        except re.error as exc:
            self.fail(
                node["patterns"],
                i,
                f"{where}.patterns[{i}]: '{raw}' is not a valid regular expression ({exc}).",
            )
            return None
