"""Reading an answer to the crisis follow-up, and what free text is about (to reflect it).

Follow-up labels (followup.yaml): safe, hospital, getting_help, not_ok, scared. A reply may say
several ("he's in the hospital. i'm a mess": hospital and not_ok); the flow's order of `if:`
branches decides which reply fits first. Negation turns a label around where that has a meaning
("not ok" is not_ok, "not scared anymore" is safe) and drops it where it has none. Nothing found:
no answer, and the engine reflects and asks again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.understanding.language import Parsed
from bot.understanding.patterns import Matcher

FOLLOWUP_LABELS = ("safe", "hospital", "getting_help", "not_ok", "scared")
TURNED: Mapping[str, str] = {"safe": "not_ok", "not_ok": "safe", "scared": "safe"}
REFLECTIONS = ("question", "feelings", "story")


@dataclass(frozen=True)
class FollowupRules:
    labels: tuple[str, ...]  # the label of each matcher pattern
    matcher: Matcher


@dataclass(frozen=True)
class ReflectRules:
    feelings: Matcher  # words about how the writer feels: "exhausted", "harta"
    question_words: frozenset[str]  # a message starting with one is a question
    story_words: int  # a message this long (in words) that answers nothing is a story


def read_followup(parsed: Parsed, rules: FollowupRules) -> frozenset[str]:
    keys = parsed.place.keys
    labels: set[str] = set()
    start = 0
    while start < len(keys):
        end = parsed.place.sentence_end[start]
        for p, s, e in rules.matcher.scan(keys, start, end):
            label = rules.labels[p]
            if parsed.modifiers(s, e, frozenset({"negated"})):
                turned = TURNED.get(label)
                if turned:
                    labels.add(turned)
            else:
                labels.add(label)
        start = end
    return frozenset(labels)


def reflection(parsed: Parsed, rules: ReflectRules) -> str | None:
    """'question', 'feelings' or 'story' for free text worth reflecting; None for a short reply."""
    keys = parsed.place.keys
    if not keys:
        return None
    if "?" in parsed.text or not rules.question_words.isdisjoint(keys[0]):
        return "question"
    for _, start, end in rules.feelings.find_all(keys, 0, len(keys)):
        if not parsed.modifiers(start, end, frozenset({"negated", "figurative"})):
            return "feelings"
    return "story" if len(keys) >= rules.story_words else None
