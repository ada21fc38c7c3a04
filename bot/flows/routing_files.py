"""Pass 1 and 2 for flows/keywords.yaml (keywords, join, fallback) and flows/program.yaml (the
order)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows.file_reader import FileReader
from bot.flows.keyword_words import flatten, read_words
from bot.flows.model import KEYWORD_TAKES, KEYWORD_WHEN, TRACKS, Keyword, ProgramOrder, Routing
from bot.problems import Problem
from bot.understanding.text import normalize
from bot.yaml_source import did_you_mean, key_position, value_position

CHANNELS = ("sms", "telegram", "email")


def read_routing(
    data: Mapping[str, Any], r: FileReader, positions: dict[str, tuple[int, int]]
) -> Routing | None:
    keywords: list[Keyword] = []
    raw_keywords = data.get("keywords")
    if not isinstance(raw_keywords, Mapping):
        r.problems.append(
            Problem(
                r.file,
                1,
                1,
                "",
                "keywords.yaml needs 'keywords': a mapping of keyword name to its words and flow",
            )
        )
        raw_keywords = {}
    seen_words: dict[str, str] = {}
    positions["keywords"] = key_position(data, "keywords")
    for name, spec in raw_keywords.items():
        where = f"keyword '{name}'"
        positions[f"keyword.{name}"] = key_position(raw_keywords, name)
        if not isinstance(spec, Mapping) or "words" not in spec or not spec.get("flow"):
            r.error(
                raw_keywords,
                name,
                where,
                "a keyword needs 'words' (a list, or a list per language) and 'flow' (the flow "
                "it starts)",
            )
            continue
        by_language = read_words(spec, "words", where, r)
        if by_language is None:
            continue
        words = flatten(by_language)  # normalised: "/stop" is "stop", "LECCIÓN" is "leccion"
        raw_words = spec["words"] if isinstance(spec["words"], list) else spec["words"].values()
        for group in [raw_words] if isinstance(spec["words"], list) else raw_words:
            if isinstance(group, list):
                _refuse_numbers(group, where, r)
        for w in words:
            if w in seen_words and seen_words[w] != str(name):
                r.error(
                    spec,
                    "words",
                    where,
                    f"the word '{w}' already belongs to keyword '{seen_words[w]}'",
                    value=True,
                )
            seen_words[w] = str(name)
        when = str(spec.get("when", "active"))
        if when not in KEYWORD_WHEN:
            r.error(
                spec,
                "when",
                where,
                f"when must be one of {', '.join(KEYWORD_WHEN)}, found '{when}'",
                did_you_mean(when, KEYWORD_WHEN),
                value=True,
            )
        takes = spec.get("takes")
        if takes is not None and takes not in KEYWORD_TAKES:
            r.error(
                spec,
                "takes",
                where,
                f"takes can only be one of {', '.join(KEYWORD_TAKES)}, found {takes!r}",
                value=True,
            )
        channel_words = _channel_words(spec, where, r, str(name), seen_words)
        positions[f"keyword.{name}"] = value_position(spec, "flow")
        keywords.append(
            Keyword(
                str(name),
                words,
                str(spec["flow"]),
                when,
                bool(spec.get("interrupts", True)),
                takes,
                channel_words,
                by_language,
                bool(spec.get("continues", False)),
                bool(spec.get("before_consent", False)),
            )
        )
    join = data.get("join")
    fallback = data.get("fallback")
    if not isinstance(join, Mapping) or not join.get("flow"):
        r.problems.append(
            Problem(
                r.file,
                1,
                1,
                "",
                "keywords.yaml needs `join: {flow: ...}`: the flow a new person starts with",
            )
        )
        return None
    if not isinstance(fallback, Mapping) or not fallback.get("flow"):
        r.problems.append(
            Problem(
                r.file,
                1,
                1,
                "",
                "keywords.yaml needs `fallback: {flow: ...}`: what answers a message nothing else "
                "understood",
            )
        )
        return None
    positions["join"] = value_position(join, "flow")
    greetings = read_words(join, "greetings", "join", r) if "greetings" in join else {}
    positions["fallback"] = value_position(fallback, "flow")
    positions["answer_as"] = value_position(fallback, "answer_as")
    answer_as = None
    if fallback.get("answer_as"):
        flow_id, _, step_id = str(fallback["answer_as"]).partition(".")
        if not step_id:
            r.error(
                fallback,
                "answer_as",
                "fallback",
                f"answer_as must be 'flow.step', found '{fallback['answer_as']}'",
                value=True,
            )
        answer_as = (flow_id, step_id)
    return Routing(
        tuple(keywords), str(join["flow"]), str(fallback["flow"]), answer_as, greetings or {}
    )


def _channel_words(
    spec: Mapping[str, Any], where: str, r: FileReader, name: str, seen: dict[str, str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`channel_words: {sms: [YES]}`: words that count on one channel only; like `words`, a
    channel's words may be listed per language (`{sms: {en: ["YES"], es: [SÍ]}}`)."""
    raw = spec.get("channel_words")
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        r.error(
            spec,
            "channel_words",
            where,
            "channel_words must map a channel (sms, telegram, email) to a list of words",
            value=True,
        )
        return ()
    found: list[tuple[str, tuple[str, ...]]] = []
    for channel, words in raw.items():
        if channel not in CHANNELS:
            r.error(
                raw,
                channel,
                where,
                f"channel_words names '{channel}', which is not a channel ({', '.join(CHANNELS)})",
                did_you_mean(str(channel), CHANNELS),
            )
            continue
        by_language = read_words(raw, channel, f"{where}, channel_words.{channel}", r)
        if by_language is None:
            continue
        for group in [words] if isinstance(words, list) else list(words.values()):
            if isinstance(group, list):
                _refuse_numbers(group, where, r)
        normalised = flatten(by_language)
        for w in normalised:
            if w in seen and seen[w] != name:
                r.error(
                    raw,
                    channel,
                    where,
                    f"the word '{w}' already belongs to keyword '{seen[w]}'",
                    value=True,
                )
            seen[w] = name
        found.append((str(channel), normalised))
    return tuple(found)


def _refuse_numbers(words: list[Any], where: str, r: FileReader) -> None:
    """A keyword is read before the open question, so a keyword `1` would take every reply "1"."""
    for i, word in enumerate(words):
        if normalize(str(word)).replace(" ", "").isdigit():
            r.error(
                words,
                i,
                where,
                f"the word '{word}' is a number, so it would take every numbered answer "
                "(the check-in's 1, 2, 3, the relationship and time zone choices) before the "
                "question could read it",
                "Use a word, not a number.",
            )


def read_order(
    data: Mapping[str, Any], r: FileReader, positions: dict[str, tuple[int, int]]
) -> ProgramOrder | None:
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("lessons", "maintenance"):
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            r.problems.append(
                Problem(r.file, 1, 1, "", f"program.yaml needs '{key}': a list of message ids")
            )
            return None
        lists[key] = tuple(value)
        positions.update({f"{key}.{i}": key_position(value, i) for i in range(len(value))})
    return ProgramOrder(lists["lessons"], lists["maintenance"], _read_tracks(data, r, positions))


def _read_tracks(
    data: Mapping[str, Any], r: FileReader, positions: dict[str, tuple[int, int]]
) -> dict[str, tuple[str, ...]]:
    """`tracks:` the lessons of each stage but engaging (whose lessons are `lessons:`)."""
    raw = data.get("tracks") or {}
    if not isinstance(raw, Mapping):
        r.error(data, "tracks", "tracks", "tracks must map each track to its list of lessons")
        return {}
    tracks: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        where = f"tracks.{name}"
        if name not in TRACKS or name == "engaging":
            r.error(
                raw,
                name,
                where,
                f"'{name}' is not a track with lessons of its own "
                f"(known: {', '.join(t for t in TRACKS if t != 'engaging')}; "
                "engaging's lessons are `lessons:`)",
                did_you_mean(str(name), TRACKS),
            )
            continue
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            r.error(raw, name, where, f"{where} needs a list of message ids", value=True)
            continue
        tracks[str(name)] = tuple(value)
        positions.update({f"{where}.{i}": key_position(value, i) for i in range(len(value))})
    return tracks
