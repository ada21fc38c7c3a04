"""Understanding replies to simple questions: yes/no, a choice, a name, a time zone, a time."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.understanding.text import normalize

_TIME = re.compile(r"^(?:at\s+)?(\d{1,2})(?:[:.h ](\d{2}))?\s*(am|pm|a|p|a m|p m)?$")
_WORD_TIMES = {"noon": "12:00", "midday": "12:00", "mid day": "12:00"}
# Hedges around a time ("around 8", "8:30ish pm", "maybe 9am") say nothing about which time.
_HEDGES = re.compile(
    r"(?<=\d)ish\b|\bish\b|^(?:around|about|maybe|approx|approximately|roughly|say|like|"
    r"sobre las|como a las|a eso de las|hacia las|a las)\s+|\s*(?:or so|more or less|give or take)$"
)
# Words for the half of the day: "8 in the evening" is 8pm.
_HALVES = (
    (re.compile(r"\s*(?:in the morning|this morning|de la manana|por la manana)$"), "am"),
    (
        re.compile(
            r"\s*(?:in the (?:afternoon|evening)|at night|tonight|de la tarde|de la noche|"
            r"por la tarde|por la noche)$"
        ),
        "pm",
    ),
)
UNCLEAR = "unclear"  # a choice's phrases that answer nothing, so the question is asked again
_NAME_OK = re.compile(r"^[^\W\d_][\w'\-.]*$", re.UNICODE)
REQUIRED_CHOICES = ("yes_no", "relationship", "ok")
# The program's own questions (issue 16): safety (yes, sometimes, no), stage (a track, or
# unsure), rating (1 to 5). A locale without them simply does not understand those replies.
OPTIONAL_CHOICES = ("safety", "stage", "rating")
RATING_BANDS = {"1": "low", "2": "low", "3": "mid", "4": "high", "5": "high"}


@dataclass(frozen=True)
class Answer:
    """What a reply meant: the labels a flow can branch on, and the value to save."""

    labels: frozenset[str]
    value: str | None = None


@dataclass(frozen=True)
class Choices:
    """A closed set of answers, each a list of phrases (normalised)."""

    options: Mapping[str, tuple[str, ...]]

    def pick(self, text: str) -> str | None:
        """The answer whose phrase the reply is or contains; longest phrase wins, ties lose."""
        norm = normalize(text)
        if not norm:
            return None
        padded = f" {norm} "
        best: dict[str, int] = {}
        for label, phrases in self.options.items():
            for phrase in phrases:
                if norm == phrase:
                    return label
                if f" {phrase} " in padded:
                    best[label] = max(best.get(label, 0), len(phrase))
        if not best:
            return None
        top = max(best.values())
        winners = [label for label, size in best.items() if size == top]
        return winners[0] if len(winners) == 1 else None


@dataclass(frozen=True)
class AnswerLexicon:
    choices: Mapping[str, Choices]  # yes_no, relationship, ok
    skip: tuple[str, ...]
    name_prefixes: tuple[str, ...]
    timezones: Mapping[str, str]
    countries: Mapping[str, str] = field(default_factory=dict)  # "uk" -> "GB", "other" -> "ZZ"
    # Never a name: a greeting before one ("hi, I'm Ana") or alone ("hi"), a reply that is no
    # name ("thanks", "ok", "idk"), and a reply that starts with a possessive ("my son").
    greetings: tuple[str, ...] = ()
    not_names: tuple[str, ...] = ()
    possessives: tuple[str, ...] = ()


def load_answer_lexicon(data: Mapping[str, Any], source: str = "<memory>") -> AnswerLexicon:
    def phrases(values: Any, where: str) -> tuple[str, ...]:
        if not isinstance(values, list):
            raise ValueError(
                f"{source}: {where} must be a list of words or phrases, found {values!r}"
            )
        return tuple(normalize(str(v)) for v in values if normalize(str(v)))

    choices = {}
    for kind in (*REQUIRED_CHOICES, *OPTIONAL_CHOICES):
        raw = data.get(kind)
        if raw is None and kind in OPTIONAL_CHOICES:
            continue
        if not isinstance(raw, Mapping):
            raise ValueError(f"{source}: '{kind}' must map each answer to its words")
        choices[kind] = Choices({str(k): phrases(v, f"{kind}.{k}") for k, v in raw.items()})
    zones = data.get("timezones") or {}
    prefixes = sorted(
        phrases(data.get("name_prefixes", []), "name_prefixes"), key=len, reverse=True
    )
    countries = data.get("countries") or {}
    if not isinstance(countries, Mapping):
        raise ValueError(f"{source}: 'countries' must map each country code to its words")
    return AnswerLexicon(
        choices,
        phrases(data.get("skip", []), "skip"),
        tuple(prefixes),
        {normalize(str(k)): str(v) for k, v in zones.items()},
        {
            word: str(code).upper()
            for code, words in countries.items()
            for word in phrases(words, f"countries.{code}")
        },
        tuple(sorted(phrases(data.get("greetings", []), "greetings"), key=len, reverse=True)),
        phrases(data.get("not_names", []), "not_names"),
        phrases(data.get("possessives", []), "possessives"),
    )


def name_rules(lexicons: Sequence[AnswerLexicon]) -> AnswerLexicon:
    """One lexicon with every language's name words: a name is no language's ("hola, soy Ana"
    to the English reader is Ana, and "hi" is no name to the Spanish one)."""
    first = lexicons[0]

    def merged(field_of: Any) -> tuple[str, ...]:
        words = {w for x in lexicons for w in field_of(x)}
        return tuple(sorted(words, key=lambda w: (-len(w), w)))

    return AnswerLexicon(
        first.choices,
        first.skip,
        merged(lambda x: x.name_prefixes),
        first.timezones,
        first.countries,
        merged(lambda x: x.greetings),
        merged(lambda x: x.not_names),
        merged(lambda x: x.possessives),
    )


def read_name(text: str, lexicon: AnswerLexicon) -> str | None:
    """'my name is ana maria' -> 'Ana Maria'; 'hi, I'm Sam' -> 'Sam'; 'who is this?', 'hi',
    'thanks', 'my son' -> None."""
    norm = normalize(text)
    for greeting in lexicon.greetings:
        if norm == greeting:
            return None
        if norm.startswith(greeting + " "):
            norm = norm[len(greeting) + 1 :]
            break
    for prefix in lexicon.name_prefixes:
        if norm.startswith(prefix + " "):
            norm = norm[len(prefix) + 1 :]
            break
    if norm in lexicon.not_names or norm.split(" ", 1)[0] in lexicon.possessives:
        return None
    words = [w.strip("'") for w in norm.split() if w.strip("'")]
    if not 1 <= len(words) <= 3 or len(" ".join(words)) > 40:
        return None
    if not all(_NAME_OK.match(w) for w in words):
        return None
    # Keep the family member's own capitalisation and accents when they typed them ("McKenzie",
    # "Lucía": read without accents, the name is still written with them).
    original = [w for w in re.split(r"[\s,!.?]+", text.strip()) if w]
    typed = {normalize(w): w for w in original}
    return " ".join(typed.get(w, w)[:1].upper() + typed.get(w, w)[1:] for w in words)


# A time inside a longer reply ("8pm please", "6pm after work", "mornings around 7"): one clock
# time with its half of the day, or one hour with a word for the half of the day.
_TIME_IN = re.compile(r"\b(\d{1,2})(?:[:.h ](\d{2}))?\s*(am|pm|a m|p m)\b")
_CLOCK_IN = re.compile(r"\b([01]?\d|2[0-3])[h ]([0-5]\d)\b")
_HOUR_IN = re.compile(r"\b(\d{1,2})\b")
_HALF_WORDS = (
    (re.compile(r"\b(?:mornings?|manana|mananas)\b"), "am"),
    (re.compile(r"\b(?:evenings?|nights?|tonight|afternoons?|tarde|tardes|noche|noches)\b"), "pm"),
)
_HOUR_WORDS = {
    w: str(i)
    for i, words in enumerate(
        [
            (),
            ("one", "una", "uno"),
            ("two", "dos"),
            ("three", "tres"),
            ("four", "cuatro"),
            ("five", "cinco"),
            ("six", "seis"),
            ("seven", "siete"),
            ("eight", "ocho"),
            ("nine", "nueve"),
            ("ten", "diez"),
            ("eleven", "once"),
            ("twelve", "doce"),
        ]
    )
    for w in words
}


def read_time(text: str) -> str | None:
    """'7pm' -> '19:00'; '7:30 am' -> '07:30'; '19:15' -> '19:15'; '7' -> None (am or pm?);
    '8pm please', 'seven pm', 'mornings around 7' -> the one time they hold."""
    whole = _read_time(text)
    if whole is not None:
        return whole
    norm = " ".join(_HOUR_WORDS.get(w, w) for w in normalize(text).split())
    if re.search(r"\b(?:half|quarter|media|cuarto)\b", norm):
        return None  # "half past 7 pm" is not 19:00: ask again rather than guess
    matches = [*_TIME_IN.finditer(norm)]
    matches += [m for m in _CLOCK_IN.finditer(norm) if int(m.group(1)) > 12]
    if matches:
        # one time and no other number: "between 7 and 8 pm", "2 hours after 7pm" ask again
        if len(matches) > 1 or re.search(r"\d", norm.replace(matches[0].group(0), " ")):
            return None
        return _read_time(matches[0].group(0))
    halves = {half for words, half in _HALF_WORDS if words.search(norm)}
    hours = _HOUR_IN.findall(norm)
    if len(halves) == 1 and len(hours) == 1 and 1 <= int(hours[0]) <= 12:
        return _read_time(f"{hours[0]} {halves.pop()}")
    return None


def _read_time(text: str) -> str | None:
    norm = normalize(text).replace("o'clock", "").replace("oclock", "").strip()
    norm = " ".join(_HEDGES.sub(" ", norm).split())
    for half_words, half in _HALVES:
        if half_words.search(norm):
            norm = half_words.sub("", norm) + half
    if norm in _WORD_TIMES:
        return _WORD_TIMES[norm]
    match = _TIME.match(norm)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    half = (match.group(3) or "").replace(" ", "")
    if minute > 59 or hour > 23:
        return None
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    elif 1 <= hour <= 12:
        return None  # "7" could be morning or evening: ask again rather than guess
    return f"{hour:02d}:{minute:02d}"


def read_timezone(text: str, lexicon: AnswerLexicon, known_zones: frozenset[str]) -> str | None:
    """'pacific' -> 'America/Los_Angeles'; 'Europe/Madrid' -> itself; 'mars' -> None."""
    stripped = text.strip()
    lowered = {z.casefold(): z for z in known_zones}
    if stripped.casefold() in lowered:
        return lowered[stripped.casefold()]
    norm = normalize(stripped)
    norm = re.sub(r"^(i'm in|im in|i am in|in|we're in|we are in|i live in)\s+", "", norm)
    norm = re.sub(r"\s+(time|timezone|time zone)$", "", norm)
    zone = lexicon.timezones.get(norm)
    return zone if zone in known_zones else None


def read_answer(
    expect: str, text: str, lexicons: Sequence[AnswerLexicon], known_zones: frozenset[str]
) -> Answer | None:
    """Every simple `expect:` kind except `checkin`, tried in each lexicon in turn."""
    if any(expect in x.choices and x.choices[expect].pick(text) == UNCLEAR for x in lexicons):
        return None  # "no idea", "no tomó hoy": not "no", in whichever language it was said
    if expect in ("name", "optional_name") and lexicons:
        lexicons = [name_rules(lexicons)]
    for lexicon in lexicons:
        answer = _read_one(expect, text, lexicon, known_zones)
        if answer is not None:
            return answer
    return None


def _read_one(
    expect: str, text: str, lexicon: AnswerLexicon, known_zones: frozenset[str]
) -> Answer | None:
    if expect == "rating":
        digit = lexicon.choices["rating"].pick(text) if "rating" in lexicon.choices else None
        band = RATING_BANDS.get(digit or "")
        return Answer(frozenset({band}), digit) if band else None
    if expect in lexicon.choices:
        label = lexicon.choices[expect].pick(text)
        if not label or label == UNCLEAR:
            return None
        # "not sure" of the stage changes nothing: a label to branch on, no value to save
        return Answer(frozenset({label}), None if label == "unsure" else label)
    if expect == "optional_name":
        if normalize(text) in lexicon.skip:
            return Answer(frozenset({"skipped"}))
        expect = "name"
    if expect == "name":
        name = read_name(text, lexicon)
        return Answer(frozenset({"given"}), name) if name else None
    if expect == "time":
        value = read_time(text)
        return Answer(frozenset({"given"}), value) if value else None
    if expect == "timezone":
        zone = read_timezone(text, lexicon, known_zones)
        return Answer(frozenset({"given"}), zone) if zone else None
    if expect == "text":
        cleaned = " ".join(text.split())[:500]
        return Answer(frozenset({"given"}), cleaned) if cleaned else None
    return None
