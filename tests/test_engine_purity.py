"""The engine must stay pure: no database, network, files, clock, environment or randomness."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.settings import REPO_ROOT

FORBIDDEN_MODULES = {
    "sqlalchemy",
    "storage",
    "httpx",
    "twilio",
    "telegram",
    "sendgrid",
    "socket",
    "asyncio",
    "subprocess",
    "ruamel",
    "yaml",
    "random",
    "uuid",
    "os",
    "urllib",
    "requests",
    "starlette",
    "apscheduler",
    "pathlib",
    "time",
    "zoneinfo",
    "bot.runtime",
    "bot.web",
    "bot.cli",
    "bot.app",
    "bot.settings",
    "bot.flows.loader",
    "bot.flows.validate",
    "bot.program_files",
    "bot.catalog",
}
FORBIDDEN_METHODS = {
    "now",
    "utcnow",
    "today",
    "getenv",
    "read_text",
    "write_text",
    "read_bytes",
    "monotonic",
    "perf_counter",
}
FORBIDDEN_FUNCTIONS = {"open", "input", "print"}


def _module_file(name: str) -> Path | None:
    path = REPO_ROOT / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _engine_closure() -> dict[str, set[str]]:
    todo, seen = ["bot.engine"], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = _imports(path)
        todo += [i for i in seen[name] if i.startswith("bot.")]
        if path.name == "__init__.py":
            todo += [f"{name}.{p.stem}" for p in path.parent.glob("*.py") if p.stem != "__init__"]
    return seen


def test_nothing_the_engine_imports_reaches_io() -> None:
    closure = _engine_closure()
    assert "bot.engine.step" in closure and "bot.understanding.crisis" in closure
    bad = {
        (module, imported)
        for module, imports in closure.items()
        for imported in imports
        if any(imported == f or imported.startswith(f + ".") for f in FORBIDDEN_MODULES)
    }
    assert bad == set(), f"the engine reaches I/O through: {sorted(bad)}"


def test_no_engine_module_reads_the_clock_files_or_environment() -> None:
    calls = set()
    for module in _engine_closure():
        path = _module_file(module)
        assert path is not None
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                calls.add((module, func.attr, node.lineno))
            elif isinstance(func, ast.Name) and func.id in FORBIDDEN_FUNCTIONS:
                calls.add((module, func.id, node.lineno))
    assert calls == set(), f"impure calls in the engine: {sorted(calls)}"
