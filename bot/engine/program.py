"""Everything the engine reads but never changes: flows, pools, lexicons and crisis policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine.language import Languages
from bot.flows.model import FlowSet
from bot.understanding.reading import Understanding


@dataclass(frozen=True)
class CrisisPolicy:
    pause_s: int = 24 * 3600  # no lessons or check-ins for this long after a crisis
    followup_after_s: int = 4 * 3600
    alerting: bool = True  # the reply says the team was told only when someone is told
    default_country: str = "US"


@dataclass(frozen=True)
class Program:
    flows: FlowSet
    pools: Mapping[str, tuple[str, ...]]  # "reward" -> ("reward.x", "reward.y", ...)
    message_ids: frozenset[str]
    understanding: Understanding
    crisis: CrisisPolicy = CrisisPolicy()
    max_reasks: int = 2
    # A person reads what families ask (`do: ask`): the console is on and someone can sign in.
    # The runtime sets it for each turn (bot/runtime/turn.py); a program on its own answers no.
    asking: bool = False
    languages: Languages = Languages()  # which words are whose, to tell a newcomer's language
