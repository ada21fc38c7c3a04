"""Loading the whole program from disk (flows, messages, lexicons), validated as one piece.

Either everything is good and a Program comes back, or nothing does and every problem is listed:
a running service keeps its last good Program when an edit is broken.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.catalog.banned_terms import BannedTerms, load_banned_terms
from bot.catalog.catalog import Catalogs, load_catalogs
from bot.catalog.check import check_catalogs
from bot.catalog.locales import load_locales
from bot.engine.language import Languages
from bot.engine.program import CrisisPolicy, Program
from bot.flows.keyword_words import ANY
from bot.flows.model import FlowSet, Routing
from bot.flows.validate import load_flowset
from bot.problems import Problem
from bot.understanding.answers import load_answer_lexicon
from bot.understanding.checkin import load_checkin_lexicon
from bot.understanding.crisis_lexicon import load_crisis_lexicon
from bot.understanding.reading import Understanding
from bot.yaml_source import read_yaml

T = TypeVar("T")


@dataclass(frozen=True)
class ProgramFiles:
    """Where the program lives: the repository's flows/ and messages/ by default."""

    flows_dir: Path
    messages_dir: Path

    @classmethod
    def at(cls, root: Path) -> ProgramFiles:
        return cls(root / "flows", root / "messages")


@dataclass(frozen=True)
class Loaded:
    program: Program
    catalogs: Catalogs


def complete_locales(messages_dir: Path) -> tuple[tuple[str, ...], list[Problem]]:
    rules, problems = load_locales(messages_dir)
    return tuple(k for k, r in rules.items() if r.complete) or ("en",), problems


def local_banned_terms(messages_dir: Path) -> tuple[dict[str, BannedTerms], list[Problem]]:
    """messages/banned_terms.<locale>.yaml: a language's own stigmatizing words (banned_terms.yaml
    holds the English ones and applies to every locale)."""
    out: dict[str, BannedTerms] = {}
    problems: list[Problem] = []
    for path in sorted(messages_dir.glob("banned_terms.*.yaml")):
        terms, found = load_banned_terms(path)
        problems += found
        out[path.name.split(".")[1]] = terms.without_accents()
    return out, problems


def load_program(
    files: ProgramFiles, crisis: CrisisPolicy | None = None
) -> tuple[Loaded | None, list[Problem]]:
    catalogs, problems = load_catalogs(files.messages_dir)
    banned, banned_problems = load_banned_terms(files.messages_dir / "banned_terms.yaml")
    local, local_problems = local_banned_terms(files.messages_dir)
    problems += banned_problems + local_problems + check_catalogs(catalogs, banned, local)
    locales = catalogs.complete_locales()
    flowset, flow_problems = load_flowset(files.flows_dir, catalogs, locales)
    problems += flow_problems
    understanding = _load_understanding(files.messages_dir, problems)
    if problems or flowset is None or understanding is None:
        return None, sorted(set(problems))
    program = Program(
        flowset,
        _pools(flowset, catalogs),
        frozenset(catalogs.ids()),
        understanding,
        crisis or CrisisPolicy(),
        languages=Languages.from_words(language_words(flowset.routing, understanding)),
    )
    return Loaded(program, catalogs), []


def language_words(routing: Routing, understanding: Understanding) -> dict[str, list[str]]:
    """Every language's own words: its keywords and greetings, and its lexicons' words."""
    out: dict[str, list[str]] = {}
    for keyword in routing.keywords:
        for language, words in keyword.by_language.items():
            if language != ANY:
                out.setdefault(language, []).extend(words)
    for language, words in routing.greetings.items():
        if language != ANY:
            out.setdefault(language, []).extend(words)
    for language, answers in understanding.answers.items():
        phrases = [p for c in answers.choices.values() for ps in c.options.values() for p in ps]
        out.setdefault(language, []).extend([*phrases, *answers.skip, *answers.name_prefixes])
    for language, checkin in understanding.checkin.items():
        out.setdefault(language, []).extend([*checkin.phrases, *checkin.question_words])
    for crisis in understanding.crisis:
        out.setdefault(crisis.language, []).extend(crisis.vocabulary)
    return out


def _pools(flowset: FlowSet, catalogs: Catalogs) -> dict[str, tuple[str, ...]]:
    names = {s.rotate for f in flowset.flows.values() for s in f.steps if s.rotate}
    return {name: catalogs.pool(name) for name in sorted(names)}


def _load_understanding(messages_dir: Path, problems: list[Problem]) -> Understanding | None:
    answers = _lexicons(
        messages_dir, "answers", lambda d, lang, src: load_answer_lexicon(d, src), problems
    )
    checkin = _lexicons(messages_dir, "checkin", load_checkin_lexicon, problems)
    crisis = _lexicons(messages_dir, "crisis", load_crisis_lexicon, problems)
    if "en" not in answers:
        problems.append(
            Problem(
                str(messages_dir / "en/understanding/answers.yaml"),
                1,
                1,
                "",
                "the English answers lexicon is missing",
            )
        )
    if not crisis:
        problems.append(
            Problem(
                str(messages_dir),
                1,
                1,
                "",
                "no crisis lexicon found (messages/<locale>/understanding/crisis.yaml)",
            )
        )
    if problems:
        return None
    return Understanding(
        answers, checkin, tuple(crisis.values()), frozenset(zoneinfo.available_timezones())
    )


def _lexicons(
    messages_dir: Path, name: str, build: Callable[[Any, str, str], T], problems: list[Problem]
) -> dict[str, T]:
    out: dict[str, T] = {}
    for path in sorted(messages_dir.glob(f"*/understanding/{name}.yaml")):
        language = path.parent.parent.name
        data, syntax = read_yaml(path)
        problems.extend(syntax)
        if syntax:
            continue
        try:
            out[language] = build(data, language, str(path))
        except ValueError as exc:
            problems.append(Problem(str(path), 1, 1, f"{name} lexicon", str(exc)))
    return out
