"""Every message in the catalog can reach a family: nothing is written and then never said."""

from __future__ import annotations

import re

from bot.catalog.awaiting import AWAITING_FILE, load_awaiting
from bot.catalog.render import COUNTRY_PLACEHOLDERS
from bot.engine.step import MEDIA_ONLY, STARTED_ALREADY
from bot.runtime.admin import WELCOME
from bot.settings import REPO_ROOT
from bot.understanding.followup import REFLECTIONS
from tests.program import shipped

CRISIS_CATEGORIES = ("overdose", "suicide", "violence", "child")
COUNTRY_VARIANT = re.compile(r"^(?P<base>.+)\.(?P<country>[A-Z]{2})$")


def referenced_ids() -> set[str]:
    program = shipped().program
    ids: set[str] = set()
    for flow in program.flows.flows.values():
        for step in flow.steps:
            ids |= set(step.say) | {m for m in (step.ask, step.reask, step.append) if m}
            if step.rotate:
                ids |= set(program.pools[step.rotate])
    ids |= set(program.flows.order.lessons) | set(program.flows.order.maintenance)
    ids |= {lesson for track in program.flows.order.tracks.values() for lesson in track}
    # the summary's sentences, chosen by what the family told us (bot/runtime/summaries.py)
    ids |= set(shipped().catalogs.pool("summary"))
    ids |= {
        f"relation.{r}" for r in ("parent", "partner", "sibling", "child", "friend", "other")
    }  # {loved_one}
    ids.add("name.fallback")  # {name} for a family who gave none (bot/catalog/render.py)
    ids.add("crisis.team_told")  # said by the engine's crisis route
    ids.add(WELCOME)  # an enrolled family's first message, queued by enroll()
    # The engine's crisis route: crisis.<category>, in the family's country's version when the
    # catalog has one, else the plain (international) id.
    ids |= {f"crisis.{c}" for c in CRISIS_CATEGORIES}
    ids |= {"ask.received", "ask.how", "ask.no_team"}  # said by `do: ask` (bot/engine/actions.py)
    # canned answers: a coach starts from one when answering a question in the console
    ids |= set(shipped().catalogs.pool("coach_answer"))
    ids.add(MEDIA_ONLY)  # said by the engine to a photo or voice note without words
    ids.add(STARTED_ALREADY)  # said by the engine to START from a family who never stopped
    # a lesson's {emergency} and its kind, in the family's country (bot/catalog/render.py)
    ids |= {f"number.{name}" for name in COUNTRY_PLACEHOLDERS}
    # email subjects (bot/runtime/outbox/enqueue.py, a coach's answer, the alerts desk), the
    # unsubscribe footer line and page (bot/runtime/outbox/unsubscribe.py)
    ids |= {f"email.subject{k}" for k in ("", "_crisis", "_compliance", "_team", "_answer")}
    ids |= {f"email.{k}" for k in ("unsubscribe_line", "unsubscribe_question")}
    ids |= {"email.unsubscribe_button", "email.unsubscribed"}
    # privacy (docs/privacy.md): said by `do: discreet`, `do: mydata`, `do: erase` and the MYDATA
    # handler (bot/runtime/effects.py); discreet mode's lead and subject; the link's page
    ids |= {"privacy.discreet_on", "privacy.discreet_off", "privacy.mydata", "privacy.deleted"}
    ids |= {"privacy.mydata_link", "privacy.mydata_attached"}
    ids |= {"discreet.lead", "email.subject_discreet", "privacy.link_page", "privacy.link_button"}
    return ids


def engine_chosen() -> set[str]:
    """Chosen by the engine from what the understanding found (bot/engine/step.py): a distress
    reply per kind of distress sign, a helpful answer per mention answer, a reflection per kind
    of free text for each kind of question the flows ask; some exist only as country versions."""
    program = shipped().program
    ids: set[str] = set()
    rules = program.understanding.crisis_rules
    kinds = {s.cls.name for s in rules.signs if s.cls.category == "distress"}
    kinds |= {f"after_{c.name}" for c in rules.categories if c.name != "distress"}
    ids |= {f"crisis.distress.{k}" for k in kinds} | {"crisis.distress"}
    ids |= {f"crisis.answer.{a.id}" for a in rules.answers}
    expects = {step.expect for flow in program.flows.flows.values() for step in flow.steps}
    ids |= {f"{e}.reflect.{k}" for e in expects if e for k in REFLECTIONS}
    # after the last unclear reply to any question; a second check-in answer the same day
    return ids | {"system.stuck", "checkin.replaced"}


def test_every_message_is_reachable() -> None:
    catalog = shipped().catalogs.locales["en"]
    reachable = referenced_ids() | engine_chosen()
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
    rules = shipped().program.understanding.crisis_rules
    for sign in rules.signs:  # every kind of distress the lexicon can find has its reply
        if sign.cls.category == "distress":
            assert f"crisis.distress.{sign.cls.name}.US" in catalog, sign.cls.name
    for answer in rules.answers:
        assert f"crisis.answer.{answer.id}.US" in catalog, answer.id
