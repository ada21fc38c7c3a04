"""Is anyone in danger now? Find the signs, read their context, decide the tier. Pure.

Signs are phrases grouped in classes per category (messages/<lang>/understanding/crisis.yaml).
Each sign found gets its modifiers (context.py); a category's `held_by` says what a modifier does
to it: "he hit me years ago" is held by `past` (a mention), "we keep narcan just in case" by
`hypothetical`. A sign nothing holds decides its class's tier (an emergency for danger signs).
A `present` modifier ("again", "still") keeps `past` and `safe` from holding. The message takes
the highest tier any sign reaches, so a present sign beside a past one wins; the category is the
most urgent one at that tier (the order of `categories:`), and a danger sign whose experiencer is
a child becomes a child-at-risk sign where the child category `takes_over` that category.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.understanding.context import Hit, Modifier
from bot.understanding.language import Parsed
from bot.understanding.patterns import Keys, Matcher, Pattern

Tier = Literal["emergency", "distress", "mention", "none"]
TIERS: tuple[Tier, ...] = ("none", "mention", "distress", "emergency")  # lowest first
DISTRESS = "distress"  # the category of signs of distress without danger
# Modifiers that can hold a sign, in the order they are reported when several do.
HOLDS = ("negated", "frame", "figurative", "hypothetical", "preparedness", "past", "safe")
OVERRIDDEN_BY_PRESENT = frozenset({"past", "safe"})
# "he never hit me before, but tonight he did": the sign is back, whatever held it.
OVERRIDDEN_BY_RENEWED = frozenset({"past", "safe", "negated"})


@dataclass(frozen=True)
class Category:
    name: str
    held_by: Mapping[str, Tier]  # modifier kind -> the tier of a sign it holds
    takes_over: frozenset[str] = frozenset()  # categories whose signs become this one's (child)
    experiencer: str = ""  # the modifier kind that makes a sign this category's (child)


@dataclass(frozen=True)
class SignClass:
    category: str
    name: str
    tier: Tier  # what an affirmed, present sign of this class decides
    language: str


@dataclass(frozen=True)
class Sign:
    cls: SignClass
    patterns: tuple[Pattern, ...]  # one phrase, or several that must all be in one sentence


@dataclass(frozen=True)
class Answer:
    """A helpful answer to a mention: said when no question is open (crisis.answer.<id>)."""

    id: str
    after: frozenset[str]  # "overdose" or "overdose.naloxone": the signs it follows
    words: tuple[Pattern, ...]  # one of these must be in the message (none: always)


@dataclass(frozen=True)
class CrisisRules:
    categories: tuple[Category, ...]  # most urgent first; the distress category last
    signs: tuple[Sign, ...]
    matcher: Matcher  # every pattern of every sign, flattened
    owner: tuple[int, ...]  # for each matcher pattern, the index of its sign
    idioms: Matcher  # phrases removed before reading ("killed it at work")
    answers: tuple[Answer, ...]
    own_words: Mapping[str, frozenset[str]]  # language -> the words its lexicons name

    def category(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)


@dataclass(frozen=True)
class Finding:
    """One sign found, its modifiers, and what it decides: the heart of every explanation."""

    category: str
    sign: str  # the class: "unresponsive", "rage"
    words: str  # the message's words, as typed
    rule: str  # the phrase as written, with file and line
    language: str
    modifiers: tuple[Modifier, ...]
    held: str  # the modifier kind that held it, or ""
    tier: Tier
    own: int  # how many of its words are its language's own (to name the language)
    span: tuple[int, int] = (0, 0)  # word positions; a sign of several phrases spans them all
    joined: bool = False  # found by `together`: its span is not one phrase

    def __str__(self) -> str:
        mods = ", ".join(str(m) for m in self.modifiers) or "none"
        state = f"held by {self.held}" if self.held else "affirmed"
        return (
            f'{self.category}/{self.sign} "{self.words}" [{self.language}]: modifiers {mods}; '
            f"{state} -> {self.tier}"
        )


@dataclass(frozen=True)
class CrisisReading:
    tier: Tier
    category: str | None  # emergency, mention: the danger category; distress: its kind
    findings: tuple[Finding, ...]
    language: str
    answer: str | None = None  # for a mention: the helpful answer that fits
    also: str | None = None  # a second emergency category that needs its own steps

    @property
    def matched(self) -> tuple[str, ...]:
        """The words behind the decision, deciding signs first (for alerts)."""
        first = [f.words for f in self.findings if f.tier == self.tier]
        return tuple(dict.fromkeys(first + [f.words for f in self.findings]))


NOTHING = CrisisReading("none", None, (), "")


def read_crisis(parsed: Parsed, rules: CrisisRules) -> CrisisReading:
    keys = _without_idioms(parsed, rules)
    decided = [
        _decide(parsed, rules, rules.signs[i], keys, s, e)
        for i, s, e in _signs(keys, parsed, rules)
    ]
    findings = _without_repeats(decided)
    if not findings:
        return NOTHING
    tier = max((f.tier for f in findings), key=TIERS.index)
    if tier == "none":
        return CrisisReading("none", None, tuple(findings), "")
    top = [f for f in findings if f.tier == tier]
    order = [c.name for c in rules.categories]
    if tier == "distress":
        kinds = [_distress_kind(f) for f in top]
        kind = min(kinds, key=lambda k: (not k.startswith("after_"), kinds.index(k)))
        chosen = [f for f, k in zip(top, kinds, strict=True) if k == kind]
        return CrisisReading(tier, kind, tuple(findings), _language(chosen, rules))
    category = min((f.category for f in top), key=order.index)
    chosen = [f for f in top if f.category == category]
    also = None
    if tier == "emergency":
        others = [f.category for f in top if f.category != category]
        also = min(others, key=order.index) if others else None
    answer = _answer(rules, parsed, top) if tier == "mention" else None
    return CrisisReading(tier, category, tuple(findings), _language(chosen, rules), answer, also)


def _without_idioms(parsed: Parsed, rules: CrisisRules) -> list[Keys]:
    keys = list(parsed.place.keys)
    for _, start, end in rules.idioms.find_all(keys, 0, len(keys)):
        keys[start:end] = [frozenset()] * (end - start)
    return keys


def _signs(keys: Sequence[Keys], parsed: Parsed, rules: CrisisRules) -> list[tuple[int, int, int]]:
    """(sign index, start, end) per sign found; a sign of several phrases spans them all."""
    found: list[tuple[int, int, int]] = []
    parts: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (sign, sentence) -> hits
    start = 0
    while start < len(keys):
        end = parsed.place.sentence_end[start]
        for p, s, e in rules.matcher.find_all(keys, start, end):
            sign = rules.owner[p]
            if len(rules.signs[sign].patterns) == 1:
                found.append((sign, s, e))
            else:
                parts.setdefault((sign, start), []).append((p, s, e))
        start = end
    for (sign, _), hits in parts.items():
        wanted = rules.signs[sign].patterns
        if len({p for p, _, _ in hits}) == len(wanted):  # every phrase of the sign is here
            found.append((sign, min(s for _, s, _ in hits), max(e for _, _, e in hits)))
    return sorted(found, key=lambda f: (f[1], f[2]))


def _decide(
    parsed: Parsed, rules: CrisisRules, sign: Sign, keys: Sequence[Keys], start: int, end: int
) -> Finding:
    cls = sign.cls
    hits = parsed.context.governing(parsed.place, parsed.hits, start, end, category=cls.category)
    modifiers = parsed.modifiers(start, end, category=cls.category)
    kinds = {m.kind for m in modifiers}
    if "present" in kinds and not _present_applies(hits, start, end):
        kinds.discard("present")
    name, category = cls.category, rules.category(cls.category)
    for other in rules.categories:
        if name in other.takes_over and other.experiencer in kinds:
            name, category = other.name, other
    held = ""
    tier: Tier = cls.tier
    if category is not None:
        for kind in HOLDS:
            if kind in category.held_by and kind in kinds:
                if kind in OVERRIDDEN_BY_PRESENT and "present" in kinds:
                    continue
                if kind in OVERRIDDEN_BY_RENEWED and "renewed" in kinds:
                    continue
                held, tier = kind, category.held_by[kind]
                break
    own_words = rules.own_words.get(cls.language, frozenset())
    own = sum(1 for k in keys[start:end] if not own_words.isdisjoint(k))
    rule = " + ".join(f"{p.text} ({p.where})" if p.where else p.text for p in sign.patterns)
    words = parsed.typed(start, end)
    joined = len(sign.patterns) > 1
    return Finding(
        name, cls.name, words, rule, cls.language, modifiers, held, tier, own, (start, end), joined
    )


def _present_applies(hits: Sequence[Hit], start: int, end: int) -> bool:
    """ "Still" speaks of this sign unless a past trigger stands between them: in "he overdosed
    two years ago and it still haunts him" the "still" is about what came after "years ago"."""
    past = [h for h in hits if h.rule.kind in OVERRIDDEN_BY_PRESENT]
    for h in hits:
        if h.rule.kind != "present":
            continue
        lo, hi = (h.end, start) if h.end <= start else (end, h.start)
        if not any(lo <= p.start and p.end <= hi for p in past):
            return True
    return False


def _without_repeats(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per place and category (every language may name the same sign), and none
    inside a longer sign that decides at least as much: "sleep and not wake up" is a suicide
    sign, and the overdose sign "not wake" inside it gives way."""
    seen: set[tuple[str, tuple[int, int]]] = set()
    unique = []
    for f in findings:
        if (f.category, f.span) not in seen:
            seen.add((f.category, f.span))
            unique.append(f)
    return [
        f
        for f in unique
        if not any(
            not g.joined
            and g.span != f.span
            and g.span[0] <= f.span[0]
            and f.span[1] <= g.span[1]
            and TIERS.index(g.tier) >= TIERS.index(f.tier)
            for g in unique
        )
    ]


def _distress_kind(finding: Finding) -> str:
    if finding.category == DISTRESS:
        return finding.sign
    return f"after_{finding.category}" if finding.held == "safe" else "despair"


def _language(chosen: Sequence[Finding], rules: CrisisRules) -> str:
    """The language whose own words matched most; a tie goes to the first found."""
    score: dict[str, int] = {}
    for f in chosen:
        score[f.language] = score.get(f.language, 0) + f.own
    return max(score, key=lambda lang: score[lang]) if score else ""


def _answer(rules: CrisisRules, parsed: Parsed, top: Sequence[Finding]) -> str | None:
    """The first answer (file order) that follows one of these signs and whose words are here."""
    signs = {f.category for f in top} | {f"{f.category}.{f.sign}" for f in top}
    keys = parsed.place.keys
    for answer in rules.answers:
        if answer.after.isdisjoint(signs):
            continue
        if not answer.words or Matcher(answer.words).find_all(keys, 0, len(keys)):
            return answer.id
    return None
