"""Reading admin YAML with line and column kept for every key, so errors can point at them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError

from bot.problems import Problem
from bot.yaml_tree import PosList, PosMap, load


def read_yaml(path: Path, label: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one file; a syntax error becomes a Problem at the line the parser names."""
    name = label or str(path)
    try:
        return load(path.read_text(encoding="utf-8")), []
    except MarkedYAMLError as exc:
        problem = str(exc.problem or exc)
        # An unclosed quote or bracket is found at the end of the file; point at where it opened.
        unclosed = "end of stream" in problem or "<stream end>" in problem
        mark = (
            (exc.context_mark or exc.problem_mark)
            if unclosed
            else (exc.problem_mark or exc.context_mark)
        )
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message, hint = explain_syntax_error(problem)
        return None, [Problem(name, line, col, "", message, hint)]
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 1, 1, "", f"the file is not UTF-8 text ({exc.reason})")]


# The parser's words, and what they usually mean for someone editing flows or messages by hand.
_SYNTAX_EXPLAINED: tuple[tuple[str, str, str], ...] = (
    (
        "found '<scalar>'",
        "text goes on after a quoted value",
        "Put the whole text inside the quotes, or remove the quotes.",
    ),
    (
        "expected <block end>",
        "this line is not indented like the lines above it",
        "Line it up with the other keys at its level, using spaces.",
    ),
    (
        "did not find expected '-' indicator",
        "this line is not indented like the list items above it",
        "Line it up with the other items, using spaces; each item starts with '- '.",
    ),
    (
        "did not find expected key",
        "this line is not indented like the keys above it",
        "Line it up with the other keys at its level, using spaces.",
    ),
    (
        "mapping values are not allowed",
        "a ': ' appears where YAML does not expect a new key",
        "If the text itself contains ': ', put the whole text in quotes; otherwise check the indentation.",
    ),
    (
        "found character '\\t'",
        "a tab is used for indentation",
        "YAML needs spaces: replace the tab with spaces.",
    ),
    (
        "found a tab character",
        "a tab is used for indentation",
        "YAML needs spaces: replace the tab with spaces.",
    ),
    (
        "cannot start any token",
        "a value starts with a character YAML keeps for itself (such as @, ` or a tab)",
        "Put the whole text in quotes, and indent with spaces.",
    ),
    (
        "end of stream",
        "a quote is opened but never closed",
        "Close the quote at the end of the text.",
    ),
    ("expected ',' or ']'", "a [ list ] is opened but never closed", "Add the missing ']'."),
    ("expected ',' or '}'", "a { mapping } is opened but never closed", "Add the missing '}'."),
    (
        "duplicate key",
        "the same key appears twice in one mapping",
        "Keep one of them: the second would silently replace the first.",
    ),
)


def explain_syntax_error(problem: str) -> tuple[str, str]:
    """(message, hint) in plain words for a YAML parser error; the parser's own words kept for detail."""
    for clue, meaning, hint in _SYNTAX_EXPLAINED:
        if clue in problem:
            return f"this is not valid YAML: {meaning} (the parser says: {problem})", hint
    return (
        f"this is not valid YAML: {problem}",
        "Check the indentation and that every ':' has a space after it.",
    )


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
