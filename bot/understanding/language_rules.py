"""Reading messages/<lang>/understanding/context.yaml: spellings, emoji, classes, modifiers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from bot.problems import Problem
from bot.understanding.context import DIRECTIONS, MODIFIER_KINDS, Direction, ModifierKind, Rule
from bot.understanding.patterns import Choice
from bot.understanding.rules_reader import Classes, Reader
from bot.understanding.text import plain
from bot.yaml_source import type_name

TOP = (
    "language",
    "spellings",
    "emoji",
    "typos",
    "classes",
    "terminators",
    "modifiers",
)
MODIFIER_KEYS = ("reach", "scope", "stops", *DIRECTIONS, "pseudo")
# Kinds this file may configure; `safe` comes from crisis.yaml (`resolved_by`), per category.
CONFIGURABLE = tuple(k for k in MODIFIER_KINDS if k != "safe")


@dataclass
class LanguageParts:
    """One language's tables, read but not yet merged with the other languages'."""

    language: str
    source: str
    data: Mapping[str, Any]
    spellings: dict[str, str] = field(default_factory=dict)
    emoji: dict[str, str] = field(default_factory=dict)
    real_words: set[str] = field(default_factory=set)
    min_typo_length: int = 6
    classes: dict[str, list[tuple[Choice, ...]]] = field(default_factory=dict)
    terminators: set[str] = field(default_factory=set)


def read_language(
    data: Any, language: str, source: str, problems: list[Problem]
) -> LanguageParts | None:
    reader = Reader(source, problems)
    if not isinstance(data, Mapping):
        reader.fail(data, None, f"the file must be a mapping of {', '.join(TOP)}")
        return None
    reader.keys(data, TOP, "")
    declared = data.get("language", language)
    if declared != language:
        reader.fail(
            data,
            "language",
            f"the file says language {declared!r} but sits in the folder {language!r}",
            "The folder name and 'language:' must agree.",
        )
    parts = LanguageParts(language, source, data)
    spellings = reader.mapping(data, "spellings", "spellings")
    for word, _ in spellings.items():
        target = plain(str(word))
        for _, variant in reader.texts(spellings, word, f"spellings.{word}"):
            key = variant if variant != variant.casefold() else variant.casefold()
            parts.spellings[key.replace("\u2019", "'")] = target
    emoji = reader.mapping(data, "emoji", "emoji")
    for word, _ in emoji.items():
        for _, symbol in reader.texts(emoji, word, f"emoji.{word}"):
            parts.emoji[symbol.replace("\ufe0f", "")] = plain(str(word))
    typos = reader.mapping(data, "typos", "typos")
    reader.keys(typos, ("min_length", "real_words"), "typos")
    parts.min_typo_length = reader.whole(typos, "min_length", 6, 4, 20, "typos.min_length")
    parts.real_words = {plain(w) for _, w in reader.texts(typos, "real_words", "real_words")}
    classes = reader.mapping(data, "classes", "classes")
    for name in classes:
        parts.classes[str(name)] = reader.members(classes, name, f"classes.{name}")
    parts.terminators = {plain(w) for _, w in reader.texts(data, "terminators", "terminators")}
    return parts


def read_modifiers(parts: LanguageParts, classes: Classes, problems: list[Problem]) -> list[Rule]:
    """The modifier rules of one language, compiled with every language's classes."""
    reader = Reader(parts.source, problems)
    section = reader.mapping(parts.data, "modifiers", "modifiers")
    rules: list[Rule] = []
    for kind, spec in section.items():
        where = f"modifiers.{kind}"
        if kind not in CONFIGURABLE:
            reader.fail(
                section,
                kind,
                f"'{kind}' is not a kind of modifier (known: {', '.join(CONFIGURABLE)})",
            )
            continue
        if not isinstance(spec, Mapping):
            reader.fail(section, kind, f"{where} must be a mapping, found {type_name(spec)}")
            continue
        reader.keys(spec, MODIFIER_KEYS, where)
        reach = reader.whole(spec, "reach", 4, 0, 30, f"{where}.reach")
        scope = spec.get("scope", "sentence")
        if scope not in ("clause", "sentence"):
            reader.fail(spec, "scope", f"{where}.scope must be clause or sentence, found {scope!r}")
            scope = "sentence"
        stops = frozenset(plain(w) for _, w in reader.texts(spec, "stops", f"{where}.stops"))
        for direction in (*DIRECTIONS, "pseudo"):
            for pattern in reader.patterns(spec, direction, f"{where}.{direction}", classes):
                rule_kind = "pseudo" if direction == "pseudo" else cast(ModifierKind, kind)
                rule_direction = cast(Direction, "either" if direction == "pseudo" else direction)
                rules.append(
                    Rule(rule_kind, pattern, rule_direction, reach, scope, stops, parts.language)
                )
    return rules


def merge_classes(parts: list[LanguageParts]) -> dict[str, tuple[tuple[Choice, ...], ...]]:
    """A class is the union of its entries in every language: @child is "baby" and "bebé"."""
    merged: dict[str, list[tuple[Choice, ...]]] = {}
    for p in parts:
        for name, members in p.classes.items():
            merged.setdefault(name, []).extend(members)
    return {name: tuple(dict.fromkeys(members)) for name, members in merged.items()}


def merge_emoji(parts: list[LanguageParts]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for p in parts:
        for symbol, word in p.emoji.items():
            out.setdefault(symbol, set()).add(word)
    return {k: frozenset(v) for k, v in out.items()}
