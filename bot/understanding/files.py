"""Loading every messages/<lang>/understanding/*.yaml into one Understanding (the only file I/O).

Either everything reads and an Understanding comes back, or None and every problem, each with
its file and line: a running service keeps its last good lexicons when an edit is broken.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from bot.problems import Problem
from bot.understanding.answers import AnswerLexicon, load_answer_lexicon
from bot.understanding.checkin_rules import read_checkin
from bot.understanding.comments import phrases_cut_by_comments
from bot.understanding.context import ContextRules, Rule
from bot.understanding.crisis_rules import CrisisFile, read_crisis
from bot.understanding.followup_rules import read_followup_rules, read_reflect_rules
from bot.understanding.language import Language, typo_index
from bot.understanding.language_rules import (
    merge_classes,
    merge_emoji,
    read_language,
    read_modifiers,
)
from bot.understanding.patterns import Matcher, Pattern
from bot.understanding.places import Places, name_table, zone_table
from bot.understanding.reading import Understanding
from bot.understanding.rules_reader import words_of
from bot.yaml_source import read_yaml

LEXICONS = ("context", "crisis", "checkin", "followup", "reflect", "answers")


def load_understanding(messages_dir: Path) -> tuple[Understanding | None, list[Problem]]:
    problems: list[Problem] = []
    files: dict[str, list[tuple[str, str, Any]]] = {name: [] for name in LEXICONS}
    for name in LEXICONS:
        # English first, then the other languages in name order: the first file sets a policy.
        paths = sorted(
            messages_dir.glob(f"*/understanding/{name}.yaml"),
            key=lambda p: (p.parent.parent.name != "en", p.parent.parent.name),
        )
        for path in paths:
            data, syntax = read_yaml(path)
            problems += syntax
            if not syntax:
                problems += phrases_cut_by_comments(path.read_text(encoding="utf-8"), str(path))
                files[name].append((path.parent.parent.name, str(path), data))
    for name in ("context", "crisis", "checkin"):
        if not files[name] and not any(p.file.endswith(f"{name}.yaml") for p in problems):
            problems.append(
                Problem(
                    str(messages_dir),
                    1,
                    1,
                    "",
                    f"no */understanding/{name}.yaml found; craftbot cannot read messages without "
                    "it",
                )
            )
    parts = [
        p
        for lang, source, data in files["context"]
        if (p := read_language(data, lang, source, problems)) is not None
    ]
    classes = merge_classes(parts)
    context_rules = [r for p in parts for r in read_modifiers(p, classes, problems)]
    crisis, safe = read_crisis(
        [CrisisFile(lang, source, data) for lang, source, data in files["crisis"]],
        classes,
        problems,
    )
    negations = [r for r in context_rules if r.kind == "negated"]
    checkin, checkin_negations = read_checkin(
        files["checkin"],
        classes,
        problems,
        max((r.reach for r in negations), default=3),
        frozenset(w for r in negations for w in r.stops),
    )
    followup = read_followup_rules(files["followup"], classes, problems)
    reflect = read_reflect_rules(files["reflect"], classes, problems)
    answers: dict[str, AnswerLexicon] = {}
    for lang, source, data in files["answers"]:
        try:
            answers[lang] = load_answer_lexicon(data, source)
        except ValueError as exc:
            problems.append(Problem(source, 1, 1, "answers lexicon", str(exc)))
    if "en" not in answers and not problems:
        problems.append(
            Problem(
                str(messages_dir / "en/understanding/answers.yaml"),
                1,
                1,
                "",
                "the English answers lexicon is missing",
            )
        )
    if problems:
        return None, sorted(set(problems))
    rules: list[Rule] = _shared_stops([*context_rules, *safe, *checkin_negations])
    patterns: list[Pattern] = [
        *(r.pattern for r in rules),
        *crisis.matcher.patterns,
        *crisis.idioms.patterns,
        *(p for a in crisis.answers for p in a.words),
        *checkin.matcher.patterns,
        *followup.matcher.patterns,
        *reflect.feelings.patterns,
    ]
    vocabulary = frozenset(words_of(patterns)) | frozenset(checkin.options)
    min_length = min((p.min_typo_length for p in parts), default=6)
    language = Language(
        spellings={k: v for p in parts for k, v in p.spellings.items()},
        emoji=merge_emoji(parts),
        real_words=frozenset(w for p in parts for w in p.real_words),
        vocabulary=vocabulary,
        typo_index=typo_index(vocabulary, min_length),
        min_typo_length=min_length,
        context=ContextRules(
            tuple(rules),
            Matcher([r.pattern for r in rules]),
            frozenset(w for p in parts for w in p.terminators),
        ),
    )
    understanding = Understanding(
        answers,
        language,
        crisis,
        checkin,
        followup,
        reflect,
        frozenset(zoneinfo.available_timezones()),
        read_places(),
    )
    return understanding, []


def read_places() -> Places:
    """Which country each time zone is in, and every country's English name (tzdata's tables)."""
    try:
        tables = resources.files("tzdata").joinpath("zoneinfo")
        zones = tables.joinpath("zone.tab").read_text(encoding="utf-8")
        names = tables.joinpath("iso3166.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):  # no tzdata: countries come from answers.yaml only
        return Places({}, {})
    return Places(zone_table(zones), name_table(names))


def _shared_stops(rules: list[Rule]) -> list[Rule]:
    """A kind's stop words are every language's: a Spanish "no" must not reach past "he" either."""
    stops: dict[str, frozenset[str]] = {}
    for r in rules:
        stops[r.kind] = stops.get(r.kind, frozenset()) | r.stops
    return [replace(r, stops=stops[r.kind]) for r in rules]
