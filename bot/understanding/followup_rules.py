"""Reading followup.yaml and reflect.yaml (every language) into their rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.problems import Problem
from bot.understanding.followup import FOLLOWUP_LABELS, FollowupRules, ReflectRules
from bot.understanding.patterns import Matcher, Pattern
from bot.understanding.rules_reader import Classes, Reader
from bot.understanding.text import plain


def read_followup_rules(
    files: Sequence[tuple[str, str, Any]], classes: Classes, problems: list[Problem]
) -> FollowupRules:
    labels: list[str] = []
    patterns: list[Pattern] = []
    for _, source, data in files:
        reader = Reader(source, problems)
        if not isinstance(data, Mapping):
            reader.fail(data, None, f"the file must map labels ({', '.join(FOLLOWUP_LABELS)})")
            continue
        reader.keys(data, FOLLOWUP_LABELS, "")
        for label in FOLLOWUP_LABELS:
            for p in reader.patterns(data, label, label, classes):
                labels.append(label)
                patterns.append(p)
    return FollowupRules(tuple(labels), Matcher(patterns))


def read_reflect_rules(
    files: Sequence[tuple[str, str, Any]], classes: Classes, problems: list[Problem]
) -> ReflectRules:
    feelings: list[Pattern] = []
    questions: set[str] = set()
    story = 8
    for _, source, data in files:
        reader = Reader(source, problems)
        if not isinstance(data, Mapping):
            reader.fail(
                data, None, "the file must be a mapping of feelings, question_words, story_words"
            )
            continue
        reader.keys(data, ("feelings", "question_words", "story_words"), "")
        feelings += reader.patterns(data, "feelings", "feelings", classes)
        questions |= {plain(w) for _, w in reader.texts(data, "question_words", "question_words")}
        if "story_words" in data:
            story = reader.whole(data, "story_words", 8, 2, 100, "story_words")
    return ReflectRules(Matcher(feelings), frozenset(questions), story)
