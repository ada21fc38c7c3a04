"""What main grew after Spanish was written, in Spanish too: the country (asked at joining,
PAÍS any time, its numbers in HELP) and asking a person (PREGUNTA). Every text a Spanish family
gets must come from a messages/es/ entry (tests/test_spanish_journey.py `Origins`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine import Message, Session, step
from bot.engine import events as ev
from bot.program_files import Loaded
from bot.settings import Settings
from bot.simulation import Harness
from tests.program import shipped
from tests.test_spanish_journey import CONTACT, Origins

START = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
JOINING = ["sí", "Rosa", "1", "Miguel"]  # consent, name, relationship, the loved one's name


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return shipped()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/t.db", org_contact=CONTACT)


def family(settings: Settings, channel: str, address: str) -> Iterator[Harness]:
    harness = Harness(settings, START, channel, address)  # type: ignore[arg-type]
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def telegram(settings: Settings) -> Iterator[Harness]:
    yield from family(settings, "telegram", "5550161")


def replies(harness: Harness, *texts: str) -> list[tuple[str, str]]:
    return [(s.message_id, s.text) for text in texts for s in harness.say(text)]


def test_joining_asks_the_country_in_spanish_when_the_time_zone_does_not_say_it(
    telegram: Harness, loaded: Loaded
) -> None:
    # given a mother who writes "hola" on Telegram (no phone number says her country) and gives
    # a time zone that is no country's
    got = replies(telegram, "hola", *JOINING, "UTC")
    # then the country question comes, in Spanish, and "España" answers it
    assert got[-1][0] == "country.ask"
    got += replies(telegram, "España", "9am", "7pm", "AYUDA")
    assert telegram.session().profile["country"] == "ES"
    # and HELP gives Spain's numbers, in Spanish: every text she got is a Spanish message's
    assert got[-1][0] == "keyword.help.ES" and "024" in got[-1][1]
    spanish = Origins(loaded.catalogs, "es")
    assert [(i, t) for i, t in got if spanish.of(t) is None] == []


def test_pais_changes_the_country_in_spanish_and_its_numbers_follow(
    telegram: Harness, loaded: Loaded
) -> None:
    replies(telegram, "hola", *JOINING, "centro", "9am", "7pm")  # the US, from the time zone
    # when she writes PAÍS (or PAIS, or COUNTRY) and names Mexico
    got = replies(telegram, "pais", "México", "AYUDA", "RECURSOS")
    # then she is asked, the change is confirmed, and HELP and RESOURCES give Mexico's lines
    assert [i for i, _ in got] == [
        "country.ask_change",
        "country.set.MX",
        "keyword.help.MX",
        "keyword.resources.MX",
    ]
    assert all("800 911 2000" in t for _, t in got[2:])
    spanish = Origins(loaded.catalogs, "es")
    assert [(i, t) for i, t in got if spanish.of(t) is None] == []


def test_pregunta_puts_the_question_to_a_person_in_the_familys_own_words() -> None:
    # given a Spanish-speaking family with the evening question open, where someone reads
    # questions
    program = replace(shipped().program, asking=True)
    session = Session(
        status="active",
        onboarded=True,
        profile={"name": "Rosa", "locale": "es", "country": "US"},
    )
    now = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    _, events = step(program, session, Message("PREGUNTA ¿Cómo le hablo de un tratamiento?"), now)
    # then the question goes to the team as she typed it, and she is told it did
    assert [e.text for e in events if isinstance(e, ev.QuestionAsked)] == [
        "¿Cómo le hablo de un tratamiento?"
    ]
    assert [e.message_id for e in events if isinstance(e, ev.Say)] == ["ask.received"]
