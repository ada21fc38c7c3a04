"""Fast YAML with positions: libyaml composes the node tree, we build dicts and lists that remember
where each key, value and item stood. Scalars resolve as YAML 1.2 does (`yes`, `no`, `on` and
`09:00` stay text), and a key written twice in one mapping is an error, not a silent overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Positions:
    """ruamel-style `.lc`: 0-based (line, col) of the node, of each key, value and item."""

    def __init__(self, line: int, col: int) -> None:
        self.line, self.col = line, col
        self._keys: dict[Any, tuple[int, int]] = {}
        self._values: dict[Any, tuple[int, int]] = {}

    def key(self, key: Any) -> tuple[int, int]:
        return self._keys[key]

    def value(self, key: Any) -> tuple[int, int]:
        return self._values[key]

    def item(self, index: int) -> tuple[int, int]:
        return self._values[index]


class PosMap(dict[Any, Any]):
    lc: Positions


class PosList(list[Any]):
    lc: Positions


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


def load(text: str) -> Any:
    node = yaml.compose(text, Loader=_Loader)
    return None if node is None else _build(node)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line, node.start_mark.column


def _build(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        items = PosList(_build(child) for child in node.value)
        items.lc = Positions(*_mark(node))
        items.lc._values = {i: _mark(child) for i, child in enumerate(node.value)}
        return items
    if isinstance(node, yaml.MappingNode):
        mapping = PosMap()
        mapping.lc = Positions(*_mark(node))
        for key_node, value_node in node.value:
            key = _build(key_node)
            if isinstance(key, list | dict):
                key = str(key)
            if key in mapping:
                raise DuplicateKeyError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            mapping[key] = _build(value_node)
            mapping.lc._keys[key] = _mark(key_node)
            mapping.lc._values[key] = _mark(value_node)
        return mapping
    raise yaml.MarkedYAMLError(None, None, f"unexpected YAML node {node!r}", node.start_mark)


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    if node.style or node.tag == "tag:yaml.org,2002:str":  # quoted or block text: always text
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text)
    return text
