"""ConText, small: the words around a finding that say it is negated, over, imagined, framed...

After NegEx (Chapman et al. 2001) and ConText (Harkema et al. 2009): each modifier is a trigger
phrase with a direction (it governs the words before it, after it, or either side) and a reach
(how many words may stand between). Its scope ends at the clause or sentence, at a terminator
("but", "pero") and, for some kinds, at a stop word ("he", "she": a new subject). Pseudo-triggers
("not only", "no doubt") look like triggers and are not. The rules are data (context.yaml per
language); this module only applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from bot.understanding.patterns import Keys, Matcher, Pattern, match_pattern

ModifierKind = Literal[
    "negated",  # "didn't", "never", "no"
    "uncertain",  # "i think", "maybe", "creo que"
    "past",  # clearly over: "years ago", "used to", "hace años"
    "other_day",  # another day than today: "yesterday", "tomorrow", "ayer" (check-in only)
    "present",  # happening now or again: "still", "again", "right now", "otra vez"
    "renewed",  # it is happening again, said without the sign: "but tonight he did", "did it again"
    "hypothetical",  # "what if", "in case", "por si acaso"
    "preparedness",  # "how do i", "where can i get", "keep", "training"
    "frame",  # a film, a book, a course, a walk: "a documentary about", "awareness"
    "figurative",  # a joke or figure of speech: "lol", "jk"
    "experiencer_self",  # the writer: "i", "me", "yo"
    "experiencer_child",  # a child: "the baby", "my 3 year old", "el niño"
    "experiencer_other",  # someone else than the writer and the loved one: "his friends"
    "safe",  # stated safety or care, per crisis category (crisis.yaml `resolved_by`)
]
MODIFIER_KINDS: tuple[ModifierKind, ...] = (
    "negated",
    "uncertain",
    "past",
    "other_day",
    "present",
    "renewed",
    "hypothetical",
    "preparedness",
    "frame",
    "figurative",
    "experiencer_self",
    "experiencer_child",
    "experiencer_other",
    "safe",
)
Direction = Literal["before", "after", "either", "message"]
DIRECTIONS: tuple[Direction, ...] = ("before", "after", "either", "message")
Scope = Literal["clause", "sentence"]


@dataclass(frozen=True)
class Rule:
    """One trigger: `kind` governs words on its `direction` side, up to `reach` words away."""

    kind: ModifierKind | Literal["pseudo"]
    pattern: Pattern
    direction: Direction
    reach: int
    scope: Scope
    stops: frozenset[str]  # words a trigger of this kind does not reach past
    language: str
    category: str = ""  # for `safe`: the crisis category it resolves
    checkin_only: bool = False  # check-in.yaml's own negations ("skipped", "stayed away from")


@dataclass(frozen=True)
class Modifier:
    """A trigger that governs a finding: shown in every explanation."""

    kind: ModifierKind
    trigger: str  # the words as typed
    rule: str  # where the trigger is written (file:line)

    def __str__(self) -> str:
        return f'{self.kind} "{self.trigger}"'


@dataclass(frozen=True)
class Hit:
    rule: Rule
    start: int
    end: int


@dataclass(frozen=True)
class Place:
    """Where each word stands; what a scope needs to know."""

    keys: Sequence[Keys]
    typed: Sequence[str]
    sentence: Sequence[int]
    clause: Sequence[int]
    sentence_end: Sequence[int]  # for each word, where its sentence ends (exclusive)


@dataclass(frozen=True)
class ContextRules:
    rules: tuple[Rule, ...]
    matcher: Matcher  # the rules' patterns, same order
    terminators: frozenset[str]  # end every trigger's reach

    def triggers(self, place: Place) -> list[Hit]:
        """Every trigger in the text, without those a pseudo-trigger covers."""
        rules, matcher = self.rules, self.matcher
        hits: list[Hit] = []
        for start, keys in enumerate(place.keys):
            end = place.sentence_end[start]
            for p in matcher.candidates(keys):
                stop = match_pattern(matcher.patterns[p], place.keys, start, end)
                if stop >= 0:
                    hits.append(Hit(rules[p], start, stop))
        pseudo = [h for h in hits if h.rule.kind == "pseudo"]
        return [
            h
            for h in hits
            if h.rule.kind != "pseudo"
            and not any(q.start <= h.start and h.end <= q.end for q in pseudo)
        ]

    def governing(
        self,
        place: Place,
        hits: Sequence[Hit],
        start: int,
        end: int,
        kinds: frozenset[str] | None = None,
        category: str = "",
        checkin: bool = False,
    ) -> list[Hit]:
        """The triggers that govern the words place[start:end] (a finding)."""
        out = []
        sentence = place.sentence[start] if start < len(place.sentence) else -1
        for hit in hits:
            if hit.rule.direction != "message" and place.sentence[hit.start] != sentence:
                continue
            rule = hit.rule
            if kinds is not None and rule.kind not in kinds:
                continue
            if rule.checkin_only and not checkin:
                continue
            if rule.kind == "safe" and rule.category not in (category, "any"):
                continue
            if hit.start < end and start < hit.end:
                # A trigger inside the finding is part of it ("not breathing"); one that holds
                # the whole finding governs it ("since his overdose", "used to").
                contains = (
                    hit.start <= start and end <= hit.end and hit.end - hit.start > end - start
                )
                if contains and rule.kind != "negated":  # "refrained from" is not "not refrained"
                    out.append(hit)
                continue
            if self._reaches(place, hit, start, end):
                out.append(hit)
        return out

    def modifiers(
        self,
        place: Place,
        hits: Sequence[Hit],
        start: int,
        end: int,
        kinds: frozenset[str] | None = None,
        category: str = "",
    ) -> tuple[Modifier, ...]:
        """The modifiers that govern the words place[start:end], for explanations and decisions."""
        found: dict[tuple[str, str], Modifier] = {}
        governing = self.governing(place, hits, start, end, kinds, category)
        for hit in governing:
            if any(  # "in case" inside "just in case": shown once, as the longer
                g.rule.kind == hit.rule.kind
                and g.start <= hit.start
                and hit.end <= g.end
                and g.end - g.start > hit.end - hit.start
                for g in governing
            ):
                continue
            typed = " ".join(place.typed[hit.start : hit.end])
            kind = cast(ModifierKind, hit.rule.kind)  # pseudo-triggers never govern
            pattern = hit.rule.pattern
            found.setdefault((kind, typed), Modifier(kind, typed, pattern.where or pattern.text))
        return tuple(found.values())

    def _reaches(self, place: Place, hit: Hit, start: int, end: int) -> bool:
        rule = hit.rule
        if rule.direction == "message":
            return True
        scope = place.clause if rule.scope == "clause" else place.sentence
        if scope[hit.start] != scope[start]:
            return False
        if hit.end <= start and rule.direction in ("before", "either"):
            between = range(hit.end, start)
        elif hit.start >= end and rule.direction in ("after", "either"):
            between = range(end, hit.start)
        else:
            return False
        if len(between) > rule.reach:
            return False
        blockers = self.terminators | rule.stops
        return all(blockers.isdisjoint(place.keys[i]) for i in between)


def by_kind(modifiers: Sequence[Modifier]) -> Mapping[str, list[Modifier]]:
    out: dict[str, list[Modifier]] = {}
    for m in modifiers:
        out.setdefault(m.kind, []).append(m)
    return out
