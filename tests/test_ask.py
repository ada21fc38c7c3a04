"""Ask a coach (ASK): what a family is told, and what lands in the console's inbox.

The engine part is pure (`do: ask` with the program's `asking`); the runtime part runs the real
turn on SQLite, where `asking` comes from the settings (the console on) and the staff table.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.environment import CliError, load_settings
from bot.engine import Message, Session, Trigger, step
from bot.engine import events as ev
from bot.engine.program import Program
from bot.flows.model import Branch, Flow, Step
from storage import models as m
from tests.console_rig import COACH, Rig, console_rig
from tests.program import shipped

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ACTIVE = Session(
    status="active",
    onboarded=True,
    profile={"name": "Ana", "relationship": "parent", "country": "US"},
)


def program(asking: bool = True) -> Program:
    return replace(shipped().program, asking=asking)


def said(events: list[ev.Event]) -> list[str]:
    return [e.message_id for e in events if isinstance(e, ev.Say)]


def asked(events: list[ev.Event]) -> list[ev.QuestionAsked]:
    return [e for e in events if isinstance(e, ev.QuestionAsked)]


# --- the engine -------------------------------------------------------------------------------
def test_ask_and_a_question_goes_to_the_team_in_the_familys_own_words() -> None:
    _, events = step(program(), ACTIVE, Message("Ask: How do I bring up REHAB with him?"), NOW)
    assert asked(events) == [ev.QuestionAsked("How do I bring up REHAB with him?", "")]
    assert said(events) == ["ask.received"]


def test_ask_leaves_tonights_check_in_question_open() -> None:
    at_checkin, _ = step(program(), ACTIVE, Trigger("checkin_due"), NOW)
    assert at_checkin.waiting and at_checkin.flow == "checkin"
    after, events = step(program(), at_checkin, Message("ASK is it normal to feel angry?"), NOW)
    assert said(events) == ["ask.received"]
    # the check-in question is still the open one: "1" answers it afterwards
    assert (after.flow, after.step, after.waiting) == (
        at_checkin.flow,
        at_checkin.step,
        True,
    )
    _, answered = step(program(), after, Message("1"), NOW)
    assert [e.value for e in answered if isinstance(e, ev.RecordCheckin)] == ["non_use"]


def test_ask_alone_says_how_to_ask_and_records_nothing() -> None:
    for text in ("ASK", "ask", "/ask"):
        _, events = step(program(), ACTIVE, Message(text), NOW)
        assert asked(events) == [] and said(events) == ["ask.how"], text


def test_where_nobody_reads_questions_the_family_is_told_how_to_reach_a_person() -> None:
    _, events = step(program(asking=False), ACTIVE, Message("ASK can I call someone?"), NOW)
    assert asked(events) == [] and said(events) == ["ask.no_team"]


def test_a_yes_to_an_offer_of_a_person_lands_with_the_offer_it_answered() -> None:
    # given a flow that offers a person (as the wellbeing check will) with `do: ask` after YES
    offer = Flow(
        "offer",
        "offer a person",
        "flows/offer.yaml",
        1,
        (
            Step(
                "offer",
                "ask",
                2,
                5,
                ask="wellbeing.offer_person",
                expect="yes_no",
                next=(Branch("yes", "person"), Branch(None, "no")),
            ),
            Step("person", "do", 3, 5, do="ask", next=(Branch(None, "end"),)),
            Step("no", "say", 4, 5, say=("wellbeing.offer_no",), next=(Branch(None, "end"),)),
        ),
    )
    base = program()
    flows = replace(base.flows, flows={**base.flows.flows, "offer": offer})
    offering = replace(base, flows=flows)
    session = replace(ACTIVE, flow="offer", step="offer", waiting=True, wait_seq=1)
    # when the family answers yes
    _, events = step(offering, session, Message("Yes please"), NOW)
    # then the yes is in the inbox with what it answered, and the family is told when
    assert asked(events) == [ev.QuestionAsked("Yes please", "wellbeing.offer_person")]
    assert said(events) == ["ask.received"]
    _, events = step(offering, session, Message("no thanks"), NOW)
    assert asked(events) == [] and said(events) == ["wellbeing.offer_no"]


def test_crisis_words_after_ask_get_the_emergency_reply_first() -> None:
    _, events = step(program(), ACTIVE, Message("ASK he overdosed and isn't breathing"), NOW)
    assert said(events)[0].startswith("crisis.overdose")
    assert asked(events) == []  # the emergency route answers; a person is alerted instead


# --- the runtime ------------------------------------------------------------------------------
@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        yield rig


def joined(rig: Rig, address: str) -> int:
    for n, text in enumerate(("hi", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm")):
        contact_id = rig.family_writes(address, text, f"SM-{address}-{n}")
    return contact_id


def questions(rig: Rig) -> list[tuple[int, str, str]]:
    with rig.app.ctx.db() as db:
        return [(q.contact_id, q.text, q.status) for q in db.scalars(select(m.Question)).all()]


def plain(text: str) -> str:
    """The text without accents (an SMS leaves out those that would cost a segment)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def last_reply(rig: Rig, address: str) -> str:
    return [d.text for d in rig.delivered if d.address == address][-1]


def test_a_question_is_stored_and_the_family_told_when_to_expect_an_answer(rig: Rig) -> None:
    rig.staff(COACH)
    family = joined(rig, "+12015550171")
    rig.family_writes("+12015550171", "ASK how do I talk to him about treatment?", "SM-q1")
    assert questions(rig) == [(family, "how do I talk to him about treatment?", "open")]
    reply = last_reply(rig, "+12015550171")
    assert "a person will answer you here within a day" in reply and "Family Support" in reply


def in_spanish(rig: Rig, phone: str, sid: str) -> None:
    """A family joined, then asked for Spanish (message `sid`)."""
    joined(rig, phone)
    rig.family_writes(phone, "ESPAÑOL", sid)


def test_the_promised_time_is_the_setting_in_each_language(tmp_path: Path) -> None:
    times = {"ask_answer_within": "within two working days"}
    times["ask_answer_within_es"] = "en dos días hábiles"
    with console_rig(tmp_path, **times) as rig:
        rig.staff(COACH)
        joined(rig, "+12015550172")
        rig.family_writes("+12015550172", "ASK what do I say tonight?", "SM-q2")
        assert "within two working days" in last_reply(rig, "+12015550172")
        # a family that reads Spanish is told the same time in Spanish words
        in_spanish(rig, "+12015550175", "SM-q6")
        rig.family_writes("+12015550175", "PREGUNTA ¿qué le digo esta noche?", "SM-q7")
        reply = plain(last_reply(rig, "+12015550175"))  # SMS drops accents that cost a segment
        assert "te respondera por aqui en dos dias habiles" in reply, reply
        assert "within" not in reply


def test_a_spanish_family_reads_how_to_reach_a_person_in_spanish(tmp_path: Path) -> None:
    """ORG_CONTACT went into Spanish messages in English ("...: call 555-0100")."""
    contact = {"org_contact": "call 555-0100", "org_contact_es": "llama al 555-0100"}
    with console_rig(tmp_path, **contact) as rig:
        joined(rig, "+12015550177")
        rig.family_writes("+12015550177", "HELP", "SM-h1")
        assert "call 555-0100" in last_reply(rig, "+12015550177")
        in_spanish(rig, "+12015550178", "SM-h2")
        rig.family_writes("+12015550178", "AYUDA", "SM-h3")
        reply = plain(last_reply(rig, "+12015550178"))
        assert "llama al 555-0100" in reply and "call 555" not in reply, reply


def test_a_spanish_family_is_told_when_to_expect_an_answer_by_default(rig: Rig) -> None:
    rig.staff(COACH)
    in_spanish(rig, "+12015550176", "SM-q8")
    rig.family_writes("+12015550176", "PREGUNTA ¿es normal?", "SM-q9")
    reply = plain(last_reply(rig, "+12015550176"))
    assert "te respondera por aqui en un plazo de un dia" in reply
    rig.family_writes("+12015550176", "PREGUNTA", "SM-q10")  # how to ask says it too
    assert "en un plazo de un dia" in plain(last_reply(rig, "+12015550176"))


def test_an_answer_time_in_english_only_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASK_ANSWER_WITHIN", "within two working days")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-secret-nobody-may-read")
    with pytest.raises(CliError) as refused:
        load_settings(needs_database=False)
    said = str(refused.value)
    assert "ASK_ANSWER_WITHIN_ES" in said and len(said.splitlines()) == 1
    assert "a-secret-nobody-may-read" not in said


def test_with_no_staff_account_the_family_is_told_how_to_reach_a_person(rig: Rig) -> None:
    joined(rig, "+12015550173")
    rig.family_writes("+12015550173", "ASK can someone call me?", "SM-q3")
    assert questions(rig) == []
    reply = last_reply(rig, "+12015550173")
    assert "nobody at Family Support answers questions sent here" in reply
    assert "call 555-0100" in reply  # ORG_CONTACT
    # once an account exists, the next question is taken
    rig.staff(COACH)
    rig.family_writes("+12015550173", "ASK can someone call me?", "SM-q4")
    assert len(questions(rig)) == 1


def test_with_the_console_off_nothing_is_stored_and_the_reply_is_honest(tmp_path: Path) -> None:
    with console_rig(tmp_path) as rig:
        rig.staff(COACH)
        rig.app.settings.console_enabled = False  # the runtime reads it turn by turn
        joined(rig, "+12015550174")
        rig.family_writes("+12015550174", "ASK is this normal?", "SM-q5")
        assert questions(rig) == []
        assert "nobody at Family Support answers" in last_reply(rig, "+12015550174")
