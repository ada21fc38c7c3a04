"""Reading messages/<lang>/understanding/crisis.yaml (every language) into one CrisisRules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bot.problems import Problem
from bot.understanding.context import MODIFIER_KINDS, Rule
from bot.understanding.crisis import (
    DISTRESS,
    HOLDS,
    TIERS,
    Answer,
    Category,
    CrisisRules,
    Sign,
    SignClass,
    Tier,
)
from bot.understanding.patterns import Matcher, Pattern
from bot.understanding.rules_reader import Classes, Reader, words_of
from bot.yaml_source import did_you_mean, type_name

TOP = ("categories", "resolved_by", "signs", "idioms", "answers")
CATEGORY_KEYS = ("held_by", "takes_over", "experiencer")
SIGN_KEYS = ("tier", "phrases", "together")
ANSWER_KEYS = ("after", "words")
SAFE_REACH = 1000  # a stated safety ("he's in the hospital now") speaks for the whole message


@dataclass(frozen=True)
class CrisisFile:
    language: str
    source: str
    data: Any


def read_crisis(
    files: Sequence[CrisisFile], classes: Classes, problems: list[Problem]
) -> tuple[CrisisRules, list[Rule]]:
    """The merged rules, and the `safe` context rules (resolved_by) for the language's context."""
    categories: dict[str, Category] = {}
    signs: list[Sign] = []
    idioms: list[Pattern] = []
    answers: dict[str, Answer] = {}
    safe: list[Rule] = []
    own: dict[str, set[str]] = {}
    for file in files:
        reader = Reader(file.source, problems)
        data = file.data
        if not isinstance(data, Mapping):
            reader.fail(data, None, f"the file must be a mapping of {', '.join(TOP)}")
            continue
        reader.keys(data, TOP, "")
        _categories(reader, data, categories)
        names = [*categories, DISTRESS]
        file_signs = _signs(reader, data, names, file.language, classes)
        signs += file_signs
        idioms += reader.patterns(data, "idioms", "idioms", classes)
        resolved = reader.mapping(data, "resolved_by", "resolved_by")
        for category in resolved:
            if category not in names:
                _unknown(reader, resolved, category, names)
                continue
            where = f"resolved_by.{category}"
            for pattern in reader.patterns(resolved, category, where, classes):
                safe.append(
                    Rule(
                        "safe",
                        pattern,
                        "message",
                        SAFE_REACH,
                        "sentence",
                        frozenset(),
                        file.language,
                        category,
                    )
                )
        _answers(reader, data, names, classes, answers)
        own.setdefault(file.language, set()).update(
            words_of([p for s in file_signs for p in s.patterns])
        )
    if DISTRESS not in categories:
        categories[DISTRESS] = Category(DISTRESS, {})
    order = [c for c in categories.values() if c.name != DISTRESS] + [categories[DISTRESS]]
    flat = [(i, p) for i, s in enumerate(signs) for p in s.patterns]
    rules = CrisisRules(
        categories=tuple(order),
        signs=tuple(signs),
        matcher=Matcher([p for _, p in flat]),
        owner=tuple(i for i, _ in flat),
        idioms=Matcher(idioms),
        answers=tuple(answers.values()),
        own_words={k: frozenset(v) for k, v in own.items()},
    )
    return rules, safe


def _unknown(reader: Reader, node: Any, key: Any, names: Sequence[str]) -> None:
    reader.fail(
        node,
        key,
        f"'{key}' is not a category (known: {', '.join(names)})",
        did_you_mean(str(key), names),
    )


def _categories(reader: Reader, data: Mapping[str, Any], out: dict[str, Category]) -> None:
    section = reader.mapping(data, "categories", "categories")
    for name, spec in section.items():
        where = f"categories.{name}"
        if not isinstance(spec, Mapping):
            reader.fail(section, name, f"{where} must be a mapping, found {type_name(spec)}")
            continue
        reader.keys(spec, CATEGORY_KEYS, where)
        held_by: dict[str, Tier] = {}
        held = reader.mapping(spec, "held_by", f"{where}.held_by")
        for kind, tier in held.items():
            if kind not in HOLDS:
                reader.fail(
                    held,
                    kind,
                    f"{where}.held_by: '{kind}' cannot hold a sign (known: {', '.join(HOLDS)})",
                    did_you_mean(str(kind), HOLDS),
                )
            elif tier not in ("none", "mention", "distress"):
                reader.fail(
                    held,
                    kind,
                    f"{where}.held_by.{kind} must be none, mention or distress, found {tier!r}",
                )
            else:
                held_by[kind] = cast(Tier, tier)
        takes = frozenset(str(w) for _, w in reader.texts(spec, "takes_over", where))
        experiencer = str(spec.get("experiencer", ""))
        if experiencer and experiencer not in MODIFIER_KINDS:
            reader.fail(spec, "experiencer", f"{where}.experiencer: '{experiencer}' is no modifier")
        category = Category(str(name), held_by, takes, experiencer)
        if name in out and out[name] != category:
            reader.fail(
                section,
                name,
                f"{where} differs from the same category in another language's file",
                "A category's policy is one for every language: keep it in one file.",
            )
        out.setdefault(str(name), category)


def _signs(
    reader: Reader, data: Mapping[str, Any], names: Sequence[str], language: str, classes: Classes
) -> list[Sign]:
    out: list[Sign] = []
    section = reader.mapping(data, "signs", "signs")
    for category, classes_of in section.items():
        if category not in names:
            _unknown(reader, section, category, names)
            continue
        if not isinstance(classes_of, Mapping):
            reader.fail(section, category, f"signs.{category} must map sign classes to phrases")
            continue
        default: Tier = "distress" if category == DISTRESS else "emergency"
        for name, spec in classes_of.items():
            where = f"signs.{category}.{name}"
            if isinstance(spec, list):
                spec_map: Mapping[str, Any] = {"phrases": spec}
                node, key = classes_of, name
            elif isinstance(spec, Mapping):
                reader.keys(spec, SIGN_KEYS, where)
                spec_map, node, key = spec, spec, "phrases"
            else:
                reader.fail(classes_of, name, f"{where} must be a list of phrases or a mapping")
                continue
            tier = spec_map.get("tier", default)
            if tier not in TIERS:
                reader.fail(spec_map, "tier", f"{where}.tier must be one of {', '.join(TIERS)}")
                tier = default
            cls = SignClass(str(category), str(name), cast(Tier, tier), language)
            target = node if node is classes_of else spec_map
            for pattern in reader.patterns(target, key, f"{where}", classes):
                out.append(Sign(cls, (pattern,)))
            together = reader.patterns(spec_map, "together", f"{where}.together", classes)
            if together:
                out.append(Sign(cls, tuple(together)))
    return out


def _answers(
    reader: Reader,
    data: Mapping[str, Any],
    names: Sequence[str],
    classes: Classes,
    out: dict[str, Answer],
) -> None:
    section = reader.mapping(data, "answers", "answers")
    for answer_id, spec in section.items():
        where = f"answers.{answer_id}"
        if not isinstance(spec, Mapping):
            reader.fail(section, answer_id, f"{where} must be a mapping with after and words")
            continue
        reader.keys(spec, ANSWER_KEYS, where)
        after = frozenset(w for _, w in reader.texts(spec, "after", f"{where}.after"))
        for sign in after:
            if sign.split(".")[0] not in names:
                reader.fail(spec, "after", f"{where}.after: '{sign}' names no category")
        words = tuple(reader.patterns(spec, "words", f"{where}.words", classes))
        previous = out.get(str(answer_id))
        if previous is not None:  # another language adds its words to the same answer
            words = previous.words + words
            after = previous.after | after
        out[str(answer_id)] = Answer(str(answer_id), after, words)
