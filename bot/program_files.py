"""Loading the whole program from disk (flows, messages, lexicons), validated as one piece.

Either everything is good and a Program comes back, or nothing does and every problem is listed:
a running service keeps its last good Program when an edit is broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.catalog.banned_terms import load_banned_terms
from bot.catalog.catalog import Catalogs, load_catalogs
from bot.catalog.check import check_catalogs
from bot.engine.program import CrisisPolicy, Program
from bot.flows.model import FlowSet
from bot.flows.validate import load_flowset
from bot.problems import Problem
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding
from bot.yaml_source import read_yaml


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
    path = messages_dir / "locales.yaml"
    if not path.exists():
        return ("en",), []
    data, problems = read_yaml(path)
    if problems or not isinstance(data, Mapping):
        return ("en",), problems or [
            Problem(str(path), 1, 1, "", "expected a mapping of locale to {complete: true|false}")
        ]
    return tuple(
        str(k) for k, v in data.items() if isinstance(v, Mapping) and v.get("complete")
    ), []


def load_program(
    files: ProgramFiles, crisis: CrisisPolicy | None = None
) -> tuple[Loaded | None, list[Problem]]:
    catalogs, problems = load_catalogs(files.messages_dir)
    banned, banned_problems = load_banned_terms(files.messages_dir / "banned_terms.yaml")
    problems += banned_problems + check_catalogs(catalogs, banned)
    locales, locale_problems = complete_locales(files.messages_dir)
    problems += locale_problems
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
    )
    return Loaded(program, catalogs), []


def _pools(flowset: FlowSet, catalogs: Catalogs) -> dict[str, tuple[str, ...]]:
    names = {s.rotate for f in flowset.flows.values() for s in f.steps if s.rotate}
    return {name: catalogs.pool(name) for name in sorted(names)}


def _load_understanding(messages_dir: Path, problems: list[Problem]) -> Understanding | None:
    understanding, found = load_understanding(messages_dir)
    problems.extend(found)
    return understanding
