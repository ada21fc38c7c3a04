"""Reading a reply to the evening check-in: not using, use, unsure, or no answer (ask again).

The reply is read with the shared engine: the same words, clauses and modifiers as crisis reading.
Evidence phrases come from every language's checkin.yaml; around each one the modifiers decide:
held (another day, clearly past, imagined, someone else) -> not about today, dropped;
uncertain ("i think") -> unsure; negated -> turned around ("didn't drink" is not using), or unsure
when softened ("didn't drink much"). Mixed evidence is unsure; no evidence is no answer: a reply
is asked again, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from bot.understanding.context import Hit, Modifier, ModifierKind
from bot.understanding.language import Parsed
from bot.understanding.patterns import Keys, Matcher

CheckinCategory = Literal["non_use", "use", "unsure"]
WindowKind = Literal["wish", "dip"]
EvidenceKind = Literal["answer", "soft", "unsure", "wish", "dip", "neutral"]
CATEGORIES: tuple[CheckinCategory, ...] = ("non_use", "use", "unsure")
FLIP: Mapping[str, CheckinCategory] = {"non_use": "use", "use": "non_use"}
# Modifiers that say evidence is not about the loved one today.
HOLDING = frozenset({"past", "other_day", "hypothetical", "frame", "experiencer_other"})
READ = HOLDING | {"negated", "uncertain"}
_AFTER_WORDS = 2  # how far after a negated phrase a softener still counts ("didn't drink a lot")


@dataclass(frozen=True)
class Evidence:
    kind: EvidenceKind
    category: CheckinCategory | None  # for answer, soft and unsure phrases


@dataclass(frozen=True)
class CheckinRules:
    """Every language's check-in words, merged."""

    options: Mapping[str, CheckinCategory]  # "1", "one", "uno" -> non_use
    option_fillers: frozenset[str]
    counted_words: frozenset[str]
    evidence: tuple[Evidence, ...]  # what each matcher pattern is
    matcher: Matcher
    softeners: frozenset[str]
    clause_breaks: frozenset[str]
    question_words: frozenset[str]
    coordinators: frozenset[str]  # "or", "nor", "ni": a negation reaches across them
    # language -> the words its file names (to tell a newcomer's language: bot/engine/language.py)
    own_words: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """One piece of evidence and what its context did to it (for explanations)."""

    words: str
    evidence: Evidence
    modifiers: tuple[Modifier, ...]
    reads_as: CheckinCategory | None  # None: held (not about today) or a window phrase

    def __str__(self) -> str:
        mods = ", ".join(str(m) for m in self.modifiers) or "none"
        what = self.evidence.category or self.evidence.kind
        return f'{self.evidence.kind} {what} "{self.words}": modifiers {mods} -> {self.reads_as}'


@dataclass(frozen=True)
class CheckinReading:
    category: CheckinCategory | None  # None: not an answer (ambiguous or unrelated): ask again
    window: WindowKind | None = None  # the loved one voiced a wish for change, or is in a dip
    found: tuple[Found, ...] = ()
    options: tuple[CheckinCategory, ...] = ()


def read_checkin(parsed: Parsed, rules: CheckinRules) -> CheckinReading:
    keys = parsed.place.keys
    signals: set[CheckinCategory] = set()
    found: list[Found] = []
    options: list[CheckinCategory] = []
    window: WindowKind | None = None
    hedged = False
    for start, end in _clauses(parsed, rules):
        picked = _options(parsed, start, end, rules)
        options += sorted(picked)
        signals |= picked
        if picked and any(
            h.rule.kind == "uncertain"
            and not h.rule.checkin_only  # "1, he said he wants help": the option is hers
            and start <= h.start
            and h.end <= end
            for h in parsed.hits
        ):
            hedged = True  # "1 i think"
        spans = rules.matcher.scan(keys, start, end)
        for p, s, e in spans:
            evidence = rules.evidence[p]
            words = parsed.typed(s, e)
            if evidence.kind == "neutral":
                continue  # "drank a soda", "took his meds": words that only look like use
            if evidence.kind in ("wish", "dip"):
                window = window or evidence.kind
                found.append(Found(words, evidence, (), None))
                break  # the rest of this part is about feelings or hopes, not today's use
            governing = [
                h
                for h in parsed.context.governing(
                    parsed.place, parsed.hits, s, e, READ, checkin=True
                )
                if start <= h.start and h.end <= end
            ]
            governing = [
                h
                for h in governing
                if h.rule.kind != "negated" or _negation_reaches(h, s, spans, keys, rules)
            ]
            governing += [  # "used to": a trigger that holds the words it is made of
                h
                for h in parsed.hits
                if h.rule.kind in HOLDING
                and h.start <= s
                and e <= h.end
                and (h.start, h.end) != (s, e)
            ]
            if any(h.rule.kind == "negated" and s <= h.start and h.end <= e for h in parsed.hits):
                governing = [h for h in governing if h.rule.kind != "negated"]  # "no tomó nada"
            governing = list({(h.start, h.end, h.rule.kind): h for h in governing}.values())
            mods = _modifiers(parsed, governing)
            kinds: set[str] = {h.rule.kind for h in governing}
            reading = _reading(evidence, kinds, governing, keys, s, e, rules)
            if "uncertain" in kinds and reading in FLIP:
                hedged = True
            found.append(Found(words, evidence, mods, reading))
            if reading is not None:
                signals.add(reading)
    category: CheckinCategory | None
    if not signals:
        category = None
    elif "unsure" in signals or len(signals) > 1 or hedged:
        category = "unsure"
    else:
        category = next(iter(signals))
    first = next((k for k in keys if k), frozenset())
    if category in FLIP and "?" in parsed.text and not first.isdisjoint(rules.question_words):
        category = None  # a question is not an answer: "what if he uses tomorrow?"
    return CheckinReading(category, window, tuple(found), tuple(options))


def _reading(
    evidence: Evidence,
    kinds: set[str],
    governing: Sequence[Hit],
    keys: Sequence[Keys],
    start: int,
    end: int,
    rules: CheckinRules,
) -> CheckinCategory | None:
    if not kinds.isdisjoint(HOLDING):
        return None
    category = evidence.category
    if "negated" not in kinds or evidence.kind == "unsure" or category is None:
        return category
    trigger = max((h for h in governing if h.rule.kind == "negated"), key=lambda h: h.end)
    around = [*keys[trigger.end : start], *keys[end : end + _AFTER_WORDS]]
    if any(not rules.softeners.isdisjoint(k) for k in around):
        return "unsure"  # "wasn't that drunk", "didn't drink much": some, but less
    if evidence.kind == "soft":
        return "unsure"  # "not a good day" says little about use
    return FLIP.get(category, category)


def _negation_reaches(
    trigger: Hit,
    start: int,
    spans: Sequence[tuple[int, int, int]],
    keys: Sequence[Keys],
    rules: CheckinRules,
) -> bool:
    """A negation turns around the first answer after it, the answers of the same kind that go
    with it ("didn't smoke any weed"), and those joined by "or"/"ni" ("didn't drink or smoke");
    in "no drinks today 👍" the thumbs-up is its own."""
    target = next(rules.evidence[p] for p, s, _ in spans if s == start)
    between = [
        (p, s, e)
        for p, s, e in spans
        if trigger.end <= s and e <= start and rules.evidence[p].kind != "neutral"
    ]
    if all(rules.evidence[p] == target for p, _, _ in between):
        return True
    last_end = between[-1][2]
    return any(not rules.coordinators.isdisjoint(k) for k in keys[last_end:start])


def _modifiers(parsed: Parsed, hits: Sequence[Hit]) -> tuple[Modifier, ...]:
    out = []
    for h in hits:
        kind = cast(ModifierKind, h.rule.kind)  # pseudo-triggers never govern
        out.append(Modifier(kind, parsed.typed(h.start, h.end), h.rule.pattern.where))
    return tuple(out)


def _clauses(parsed: Parsed, rules: CheckinRules) -> list[tuple[int, int]]:
    """(start, end) of each part: punctuation and the clause-break words ("but", "pero") cut."""
    out: list[tuple[int, int]] = []
    start = 0
    words = parsed.words
    keys = parsed.place.keys
    for i in range(len(words) + 1):
        boundary = i == len(words) or (i > start and words[i].clause != words[i - 1].clause)
        breaks = i < len(words) and not rules.clause_breaks.isdisjoint(keys[i])
        if boundary or breaks:
            if i > start:
                out.append((start, i))
            start = i + 1 if breaks else i
    return out


def _options(parsed: Parsed, start: int, end: int, rules: CheckinRules) -> set[CheckinCategory]:
    """Options picked by a part that starts with one: "1", "#2", "option 3", "1 or 2"."""
    keys = parsed.place.keys

    def option(k: Keys) -> str | None:
        return next((w for w in sorted(k) if w in rules.options), None)

    def filler(j: int) -> bool:  # small words and emoji may stand around an option ("uno 🙏")
        return parsed.words[j].emoji or not rules.option_fillers.isdisjoint(keys[j])

    i = start
    while i < end and option(keys[i]) is None and filler(i):
        i += 1
    first = option(keys[i]) if i < end else None
    if first is None:
        return set()
    if not first.isdigit() and not all(filler(j) for j in range(i + 1, end)):
        return set()  # "one" only stands alone: "one more drink" is not option 1
    picked: set[CheckinCategory] = set()
    for j in range(i, end):
        word = option(keys[j])
        follower = keys[j + 1] if j + 1 < end else frozenset()
        if word and (j == i or word.isdigit()) and rules.counted_words.isdisjoint(follower):
            picked.add(rules.options[word])
    return picked
