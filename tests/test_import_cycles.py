"""The shape of the code: no SQL built outside storage/, no arrow from the runtime up into the web,
console or CLI, and no import cycles through the admin-facing packages: one module owns what two
others need (flows/file_reader.py holds the FileReader that loader.py and routing_files.py share).

Imports under `if TYPE_CHECKING:` count: a cycle hidden there still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.settings import REPO_ROOT

# Packages and modules this check covers (prefixes of dotted module names).


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = {}
    for path in [*(root / "bot").rglob("*.py"), *(root / "storage").rglob("*.py")]:
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import submodule` needs the submodule, not the package's body
                found |= {
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                }
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_bot_or_storage() -> None:
    assert cycles(import_graph(REPO_ROOT)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "bindparam", "literal"}


def sql_built_in(root: Path) -> list[str]:
    """Modules outside storage/ that build SQL (storage/queries/ and storage/'s console queries
    are the only places that do, besides the migrations)."""
    found = []
    for path in sorted((root / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {a.name for a in node.names} & SQL_BUILDERS
                if names or (node.module or "").startswith("sqlalchemy.dialects"):
                    found.append(f"{path.relative_to(root)}: {', '.join(sorted(names))}")
    return found


def test_sql_is_written_only_in_storage() -> None:
    assert sql_built_in(REPO_ROOT) == []


def test_the_runtime_and_engine_never_import_the_web_console_or_cli() -> None:
    """The arrows run down: web, console and cli use the runtime, never the other way."""
    graph = import_graph(REPO_ROOT)
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.startswith(("bot.runtime", "bot.engine", "storage"))
        for target in targets
        if target.startswith(("bot.web", "bot.console", "bot.cli"))
    )
    assert upward == []
