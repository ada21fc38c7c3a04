"""Reading one admin YAML file while collecting every problem in it, not just the first.

Shared by the flow files (loader.py) and keywords.yaml / program.yaml (routing_files.py), so
neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.problems import Problem
from bot.yaml_source import key_position, type_name, value_position


class FileReader:
    """Collects problems while reading one file, so every error in it is reported."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems

    def error(
        self, node: Any, key: Any, where: str, message: str, hint: str = "", value: bool = False
    ) -> None:
        line, col = value_position(node, key) if value else key_position(node, key)
        self.problems.append(Problem(self.file, line, col, where, message, hint))

    def text(self, node: Mapping[str, Any], key: str, where: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.error(
                node,
                key,
                where,
                f"'{key}' must be a single word or id, found {type_name(value)}",
                value=True,
            )
            return None
        return str(value)
