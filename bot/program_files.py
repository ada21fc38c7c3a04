"""Loading the whole program from disk (flows, messages, lexicons), validated as one piece.

Either everything is good and a Program comes back, or nothing does and every problem is listed:
a running service keeps its last good Program when an edit is broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.catalog.banned_terms import BannedTerms, load_banned_terms
from bot.catalog.catalog import Catalogs, load_catalogs
from bot.catalog.check import check_catalogs
from bot.catalog.discreet import check_discreet
from bot.catalog.locales import load_locales
from bot.engine.language import Languages
from bot.engine.program import CrisisPolicy, Program
from bot.flows.keyword_words import ANY
from bot.flows.model import FlowSet, Routing
from bot.flows.validate import load_flowset
from bot.problems import Problem
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding


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


def discreet_words(messages_dir: Path) -> tuple[dict[str, BannedTerms], list[Problem]]:
    """messages/discreet_words.<locale>.yaml: what a lock screen must not show, per language."""
    out: dict[str, BannedTerms] = {}
    problems: list[Problem] = []
    for path in sorted(messages_dir.glob("discreet_words.*.yaml")):
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
    discreet, discreet_problems = discreet_words(files.messages_dir)
    problems += discreet_problems + check_discreet(catalogs, discreet)
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
        out.setdefault(language, []).extend(
            [*phrases, *answers.skip, *answers.name_prefixes, *answers.countries]
        )
    # The lexicons of the reading engine, merged for reading, keep each language's own words.
    for rules in (understanding.checkin_rules.own_words, understanding.crisis_rules.own_words):
        for language, own in rules.items():
            out.setdefault(language, []).extend(own)
    return out


def _pools(flowset: FlowSet, catalogs: Catalogs) -> dict[str, tuple[str, ...]]:
    names = {s.rotate for f in flowset.flows.values() for s in f.steps if s.rotate}
    return {name: catalogs.pool(name) for name in sorted(names)}


def _load_understanding(messages_dir: Path, problems: list[Problem]) -> Understanding | None:
    understanding, found = load_understanding(messages_dir)
    problems.extend(found)
    return understanding
