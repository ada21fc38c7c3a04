"""Messages written before the flows that will send them (messages/awaiting.yaml).

Every message in the catalog must be reachable by some flow (tests/test_catalog_reach.py), so
words nobody can receive do not pile up. Words are sometimes written first and wired later: the
list names them, with what they wait for, so the exception is explicit and shrinks as the
mechanics land. A listed message that a flow now sends, or a listed name with no message behind
it, is a stale entry and the tests say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.problems import Problem
from bot.yaml_source import read_yaml

AWAITING_FILE = "awaiting.yaml"


@dataclass(frozen=True)
class Awaiting:
    """Ids and pools (the part of an id before the first dot), each with what it waits for."""

    ids: Mapping[str, str] = field(default_factory=dict)
    pools: Mapping[str, str] = field(default_factory=dict)

    def reason(self, message_id: str) -> str | None:
        pool = message_id.split(".", 1)[0]
        return self.ids.get(message_id) or self.pools.get(pool)

    def names(self) -> list[str]:
        return [*self.ids, *(f"{p}.*" for p in self.pools)]

    def unmatched(self, message_ids: Iterable[str]) -> list[str]:
        """Listed ids and pools that no message in `message_ids` belongs to."""
        known = set(message_ids)
        pools = {i.split(".", 1)[0] for i in known}
        return [i for i in self.ids if i not in known] + [
            f"{p}.*" for p in self.pools if p not in pools
        ]


def load_awaiting(path: Path) -> tuple[Awaiting, list[Problem]]:
    if not path.exists():
        return Awaiting(), []
    data, problems = read_yaml(path)
    if problems:
        return Awaiting(), problems
    items = data.get("awaiting") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return Awaiting(), [
            Problem(str(path), 1, 1, "", "expected `awaiting:` with a list of entries")
        ]
    ids: dict[str, str] = {}
    pools: dict[str, str] = {}
    for n, item in enumerate(items, start=1):
        reason = item.get("for") if isinstance(item, Mapping) else None
        listed = [(item.get("ids") or [], ids), (item.get("pools") or [], pools)] if reason else []
        if not isinstance(reason, str) or not all(isinstance(v, list) for v, _ in listed):
            problems.append(
                Problem(
                    str(path),
                    1,
                    1,
                    f"awaiting entry {n}",
                    "each entry needs `for:` (what the messages wait for) and `ids:` or `pools:`",
                )
            )
            continue
        for names, into in listed:
            into.update({str(name): reason for name in names})
    return Awaiting(ids, pools), problems
