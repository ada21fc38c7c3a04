"""Every message in the catalog can reach a family: nothing is written and then never said."""

from __future__ import annotations

import re

from bot.catalog.awaiting import AWAITING_FILE, load_awaiting
from bot.settings import REPO_ROOT
from tests.program import shipped

CRISIS_CATEGORIES = ("overdose", "suicide", "violence")
COUNTRY_VARIANT = re.compile(r"^(?P<base>.+)\.(?P<country>[A-Z]{2})$")


def referenced_ids() -> set[str]:
    program = shipped().program
    ids: set[str] = set()
    for flow in program.flows.flows.values():
        for step in flow.steps:
            ids |= set(step.say) | {m for m in (step.ask, step.reask) if m}
            if step.rotate:
                ids |= set(program.pools[step.rotate])
    ids |= set(program.flows.order.lessons) | set(program.flows.order.maintenance)
    ids |= {
        f"relation.{r}" for r in ("parent", "partner", "sibling", "child", "friend", "other")
    }  # {loved_one}
    ids.add("crisis.team_told")  # said by the engine's crisis route
    ids |= {"email.subject", "email.subject_crisis", "email.subject_compliance"}  # email subjects
    return ids


def test_every_message_is_reachable() -> None:
    catalog = shipped().catalogs.locales["en"]
    reachable = referenced_ids()
    awaiting, problems = load_awaiting(REPO_ROOT / "messages" / AWAITING_FILE)
    assert problems == []
    unreachable = []
    for message_id in catalog:
        variant = COUNTRY_VARIANT.match(message_id)
        if message_id in reachable:
            continue
        if awaiting.reason(message_id):
            continue  # written before its flow, and listed as such (messages/awaiting.yaml)
        if variant and variant["base"] in reachable:
            continue  # a country's version of a message that is said ("x.GB" for "x")
        if variant and variant["base"].removeprefix("crisis.") in CRISIS_CATEGORIES:
            continue  # crisis.<category>.<COUNTRY>, chosen by the engine
        unreachable.append(message_id)
    assert unreachable == []


def test_every_referenced_message_exists() -> None:
    catalog = shipped().catalogs.locales["en"]
    assert sorted(referenced_ids() - set(catalog)) == []
    for category in CRISIS_CATEGORIES:
        assert f"crisis.{category}.US" in catalog
