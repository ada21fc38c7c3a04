"""Reading understanding YAML into rules: every problem collected, each with its file and line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.problems import Problem
from bot.understanding.patterns import (
    Choice,
    ClassSlot,
    Pattern,
    PatternError,
    compile_member,
    compile_pattern,
)
from bot.yaml_source import did_you_mean, key_position, type_name

Classes = Mapping[str, tuple[tuple[Choice, ...], ...]]


class Reader:
    """Collects every problem in one file instead of stopping at the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems

    def fail(self, node: Any, key: Any, message: str, hint: str = "") -> None:
        line, col = key_position(node, key) if key is not None else (1, 1)
        self.problems.append(Problem(self.source, line, col, "", message, hint))

    def where(self, node: Any, key: Any) -> str:
        line, _ = key_position(node, key)
        return f"{self.source}:{line}"

    def keys(self, node: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                name = f"{where}: '{key}'" if where else f"'{key}'"
                self.fail(
                    node,
                    key,
                    f"{name} is not a known key (known: {', '.join(allowed)})",
                    did_you_mean(str(key), allowed),
                )

    def mapping(self, node: Any, key: str, where: str) -> Mapping[str, Any]:
        value = node.get(key) if isinstance(node, Mapping) else None
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(node, key, f"{where} must be a mapping, found {type_name(value)}")
            return {}
        return value

    def texts(self, node: Any, key: Any, where: str) -> list[tuple[int, str]]:
        """(index, text) of each entry of a list; numbers count as text, true/false do not."""
        values = node.get(key) if isinstance(node, Mapping) else None
        if values is None:
            return []
        if not isinstance(values, list):
            self.fail(node, key, f"{where} must be a list, found {type_name(values)}")
            return []
        good: list[tuple[int, str]] = []
        for i, value in enumerate(values):
            if isinstance(value, bool):
                self.fail(
                    values,
                    i,
                    f"{where}[{i}] is {value!r}, which YAML reads as true/false",
                    'Put the word in quotes, for example "no".',
                )
            elif isinstance(value, str | int) and str(value).strip():
                good.append((i, str(value).strip()))
            else:
                self.fail(
                    values, i, f"{where}[{i}] must be a word or phrase, found {type_name(value)}"
                )
        return good

    def patterns(self, node: Any, key: Any, where: str, classes: Classes) -> list[Pattern]:
        values = node.get(key) if isinstance(node, Mapping) else None
        out = []
        for i, text in self.texts(node, key, where):
            compiled = self.pattern(values, i, text, f"{where}[{i}]", classes)
            if compiled is not None:
                out.append(compiled)
        return out

    def pattern(self, seq: Any, i: Any, text: str, where: str, classes: Classes) -> Pattern | None:
        try:
            return compile_pattern(text, classes, self.where(seq, i))
        except PatternError as exc:
            self.fail(seq, i, f"{where}: {exc}")
            return None

    def members(self, node: Any, key: str, where: str) -> list[tuple[Choice, ...]]:
        values = node.get(key) if isinstance(node, Mapping) else None
        out = []
        for i, text in self.texts(node, key, where):
            try:
                out.append(compile_member(text, f"{where}[{i}]"))
            except PatternError as exc:
                self.fail(values, i, str(exc))
        return out

    def whole(
        self, node: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str
    ) -> int:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(
                node, key, f"{where} must be a whole number from {low} to {high}, found {value!r}"
            )
            return default
        return value


def words_of(patterns: Sequence[Pattern]) -> set[str]:
    """Every word the patterns name (for the typo index and the languages' own words)."""
    out: set[str] = set()
    for p in patterns:
        for slot in p.slots:
            if isinstance(slot, Choice):
                out |= slot.words
            elif isinstance(slot, ClassSlot):
                out |= {w for member in slot.members for part in member for w in part.words}
    return out
