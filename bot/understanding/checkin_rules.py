"""Reading messages/<lang>/understanding/checkin.yaml (every language) into one CheckinRules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from bot.problems import Problem
from bot.understanding.checkin import (
    CATEGORIES,
    CheckinCategory,
    CheckinRules,
    Evidence,
    EvidenceKind,
)
from bot.understanding.context import ModifierKind, Rule, Scope
from bot.understanding.patterns import Matcher, Pattern
from bot.understanding.rules_reader import Classes, Reader, words_of
from bot.understanding.text import plain

NEUTRAL = "neutral_phrases"  # words that look like use and are not ("drank a soda")
TOP = (
    "language",
    "answers",
    "option_fillers",
    "counted_words",
    "negations",
    "cessations",
    "hedges",
    "negation_softeners",
    "clause_breaks",
    "question_words",
    "window",
    NEUTRAL,
    "coordinators",
)
CESSATION_REACH = 2  # "stopped drinking", "quit using drugs", "dejó de tomar"
HEDGE_REACH = 6  # "i doubt he had more than a sip", as far as the shared hedges ("i think") reach
ANSWER_KEYS = ("options", "phrases", "soft_phrases")
# Ties between phrases of one length go to the first kind here: "not sure" (unsure) is read as a
# whole before "not" could turn anything around.
KIND_ORDER: tuple[EvidenceKind, ...] = ("wish", "dip", "neutral", "unsure", "answer", "soft")


def read_checkin(
    files: Sequence[tuple[str, str, Any]],
    classes: Classes,
    problems: list[Problem],
    negation_reach: int,
    negation_stops: frozenset[str],
) -> tuple[CheckinRules, list[Rule]]:
    """The merged rules, and check-in's own context rules: its negations ("stayed away from"), its
    cessations ("stopped drinking" says nothing sure about today) and its hedges ("i don't think
    he drank", "dudo que tomara"): both read as unsure. Crisis reading never sees these."""
    options: dict[str, CheckinCategory] = {}
    evidence: list[tuple[EvidenceKind, CheckinCategory | None, Pattern]] = []
    extra: list[Rule] = []
    sets: dict[str, set[str]] = {
        k: set()
        for k in (
            "option_fillers",
            "counted_words",
            "negation_softeners",
            "clause_breaks",
            "question_words",
            "coordinators",
        )
    }
    own: dict[str, set[str]] = {}  # language -> the words its file names
    for language, source, data in files:
        first = len(evidence)
        reader = Reader(source, problems)
        if not isinstance(data, Mapping):
            reader.fail(data, None, f"the file must be a mapping of {', '.join(TOP)}")
            continue
        reader.keys(data, TOP, "")
        if data.get("language", language) != language:
            reader.fail(
                data,
                "language",
                f"the file says language {data['language']!r} but sits in the folder {language!r}",
                "The folder name and 'language:' must agree.",
            )
        answers = reader.mapping(data, "answers", "answers")
        reader.keys(answers, CATEGORIES, "answers")
        for category in CATEGORIES:
            where = f"answers.{category}"
            entry = reader.mapping(answers, category, where)
            reader.keys(entry, ANSWER_KEYS, where)
            for i, option in reader.texts(entry, "options", f"{where}.options"):
                word = plain(option)
                if not word.isalnum():
                    reader.fail(
                        entry["options"], i, f"option {option!r} must be one word or number"
                    )
                elif options.get(word, category) != category:
                    reader.fail(
                        entry["options"],
                        i,
                        f"option {option!r} is already an option for {options[word]}",
                        "One option, one answer.",
                    )
                else:
                    options[word] = category
                    own.setdefault(language, set()).add(word)
            kind: EvidenceKind = "unsure" if category == "unsure" else "answer"
            for p in reader.patterns(entry, "phrases", f"{where}.phrases", classes):
                evidence.append((kind, category, p))
            if category == "unsure" and entry.get("soft_phrases"):
                reader.fail(
                    entry,
                    "soft_phrases",
                    "unsure phrases are never turned around, so put them under 'phrases'",
                )
            for p in reader.patterns(entry, "soft_phrases", f"{where}.soft_phrases", classes):
                evidence.append(("soft", category, p))
        window = reader.mapping(data, "window", "window")
        reader.keys(window, ("wish", "dip"), "window")
        for name in ("wish", "dip"):
            for p in reader.patterns(window, name, f"window.{name}", classes):
                evidence.append((cast(EvidenceKind, name), None, p))
        for p in reader.patterns(data, NEUTRAL, NEUTRAL, classes):
            evidence.append(("neutral", None, p))
        # Check-in-only words that turn a sign around: (key, kind, reach, scope, stops). A kind's
        # stops are shared, so cessations and hedges take none, as "i think" has none.
        turning: tuple[tuple[str, ModifierKind, int, Scope, frozenset[str]], ...] = (
            ("negations", "negated", negation_reach, "clause", negation_stops),
            ("cessations", "uncertain", CESSATION_REACH, "clause", frozenset()),
            ("hedges", "uncertain", HEDGE_REACH, "sentence", frozenset()),
        )
        for key, turn, reach, scope, stops in turning:
            for p in reader.patterns(data, key, key, classes):
                extra.append(
                    Rule(turn, p, "before", reach, scope, stops, language, checkin_only=True)
                )
        mine = own.setdefault(language, set())
        for key, values in sets.items():
            found = {plain(w) for _, w in reader.texts(data, key, key)}
            values |= found
            if key == "question_words":
                mine |= found
        mine |= words_of([p for _, _, p in evidence[first:]])
    evidence.sort(key=lambda e: KIND_ORDER.index(e[0]))
    seen: dict[tuple[str, ...], tuple[EvidenceKind, CheckinCategory | None]] = {}
    for e_kind, e_category, pattern in evidence:
        text = tuple(pattern.text.split())
        if seen.get(text, (e_kind, e_category)) != (e_kind, e_category):
            problems.append(
                Problem(
                    pattern.where.rsplit(":", 1)[0],
                    int(pattern.where.rsplit(":", 1)[1]),
                    1,
                    "",
                    f"'{pattern.text}' is listed twice with different meanings "
                    f"({seen[text][0]} {seen[text][1] or ''} and {e_kind} {e_category or ''})",
                    "Keep it in one list.",
                )
            )
        seen.setdefault(text, (e_kind, e_category))
    if not options:
        problems.append(
            Problem("checkin.yaml", 1, 1, "", "no check-in options are listed in any language")
        )
    rules = CheckinRules(
        options=options,
        option_fillers=frozenset(sets["option_fillers"]),
        counted_words=frozenset(sets["counted_words"]),
        evidence=tuple(Evidence(k, c) for k, c, _ in evidence),
        matcher=Matcher([p for _, _, p in evidence]),
        softeners=frozenset(sets["negation_softeners"]),
        clause_breaks=frozenset(sets["clause_breaks"]),
        question_words=frozenset(sets["question_words"]),
        coordinators=frozenset(sets["coordinators"]),
        own_words={k: frozenset(v) for k, v in own.items()},
    )
    return rules, extra
