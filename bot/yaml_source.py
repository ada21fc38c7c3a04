"""Reading admin YAML with line and column kept for every key, so errors can point at them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError

from bot.problems import Problem
from bot.yaml_syntax import explain
from bot.yaml_tree import PosList, PosMap, load


def read_yaml(path: Path, label: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one file; a syntax error becomes a Problem at the line that is wrong."""
    name = label or str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 1, 1, "", f"the file is not UTF-8 text ({exc.reason})")]
    try:
        return load(source), []
    except MarkedYAMLError as exc:
        found = explain(exc, source)
        return None, [Problem(name, found.line, found.col, "", found.message, found.hint)]


def key_position(node: Any, key: Any) -> tuple[int, int]:
    """1-based (line, col) of `key` in a mapping, or of item `key` in a sequence."""
    try:
        if isinstance(node, PosMap):
            line, col = node.lc.key(key)
            return line + 1, col + 1
        if isinstance(node, PosList):
            line, col = node.lc.item(key)
            return line + 1, col + 1
    except (KeyError, IndexError, TypeError):
        pass
    return node_position(node)


def value_position(node: Any, key: Any) -> tuple[int, int]:
    """1-based (line, col) of the value under `key` (falls back to the key)."""
    try:
        if isinstance(node, PosMap):
            line, col = node.lc.value(key)
            return line + 1, col + 1
    except (KeyError, IndexError, TypeError):
        pass
    return key_position(node, key)


def node_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return 1, 1


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' Did you mean 'reward'?' when something close exists, else ''."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f"Did you mean '{close[0]}'?" if close else ""


def type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"
