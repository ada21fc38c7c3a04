"""What main grew after Spanish was written, in Spanish too: the country (asked at joining,
PAÍS any time, its numbers in HELP), asking a person (PREGUNTA), and the email around the words
(its subject, the footer's unsubscribe line, the page the link opens). Every text a Spanish family
gets must come from a messages/es/ entry (tests/test_spanish_journey.py `Origins`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.channels.base import OutboundMessage
from bot.channels.sendgrid_email import SendGridEmail
from bot.engine import Message, Session, step
from bot.engine import events as ev
from bot.program_files import Loaded
from bot.runtime.outbox.unsubscribe import unsubscribe_url
from bot.settings import Settings
from bot.simulation import Harness
from bot.web.app import create_app
from tests.program import shipped
from tests.test_spanish_journey import CONTACT, Origins

START = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
JOINING = ["sí", "Rosa", "1", "no", "Miguel"]  # consent, name, relationship, discreet?, a name


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return shipped()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/t.db",
        org_contact=CONTACT,
        unsubscribe_signing_key="a-test-key-for-unsubscribe-links-0123456789",  # signs links
    )


def family(settings: Settings, channel: str, address: str) -> Iterator[Harness]:
    harness = Harness(settings, START, channel, address)  # type: ignore[arg-type]
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def telegram(settings: Settings) -> Iterator[Harness]:
    yield from family(settings, "telegram", "5550161")


@pytest.fixture
def email(settings: Settings) -> Iterator[Harness]:
    yield from family(settings, "email", "rosa.madre@example.org")


def delivered(harness: Harness) -> list[OutboundMessage]:
    """Every email as the dispatcher handed it to the channel (subject, footer line, link)."""
    return [m for m in harness._delivered if m.channel == "email"]


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


def test_a_spanish_familys_email_says_how_to_stop_in_spanish(
    email: Harness, settings: Settings, loaded: Loaded
) -> None:
    # given a mother who joins by email in Spanish
    replies(email, "Hola, quisiera información", *JOINING, "centro", "9am", "7pm")
    mails = delivered(email)
    # then every email's footer line and subject are Spanish
    assert {m.unsubscribe_words for m in mails} == {"Para dejar de recibir estos correos:"}
    spanish = Origins(loaded.catalogs, "es")
    assert [m.subject for m in mails if spanish.of(m.subject or "") is None] == []
    # and the email SendGrid would be given carries that line before the link
    adapter = SendGridEmail(
        "SG.test", "coach@example.org", org_name="Family Support", org_postal_address="1 Main St"
    )
    body = adapter.build_mail(mails[-1]).get()["content"][0]["value"]
    assert f"Para dejar de recibir estos correos: {mails[-1].unsubscribe_url}" in body
    assert "To stop" not in body


def test_an_english_familys_email_keeps_the_english_line(email: Harness) -> None:
    email.say("Hello, I'd like to join")
    mails = delivered(email)
    assert mails and {m.unsubscribe_words for m in mails} == {"To stop these emails:"}


def test_the_unsubscribe_page_speaks_the_familys_language(
    email: Harness, settings: Settings
) -> None:
    replies(email, "Hola, quisiera información")
    found = email.contact()
    assert found is not None
    link = unsubscribe_url(settings, found.id, found.address)
    link = link.removeprefix(settings.public_base_url.rstrip("/"))
    web = create_app(email.app)

    async def visit() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            # when she opens the link from her email, then presses the button
            return await client.get(link), await client.post(link)

    page, done = asyncio.run(visit())
    # then the page asks in Spanish, and says so in its language tag
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    assert "¿Dejar de recibir todos los correos de craftbot de Family Support?" in page.text
    assert "Darme de baja</button>" in page.text and "Unsubscribe" not in page.text
    # and the button's answer is Spanish too, and she is out
    assert "ya no recibirás correos de craftbot de Family Support" in done.text
    assert email.session().status == "opted_out"


def test_words_from_the_team_reach_a_spanish_family_under_a_spanish_subject(
    email: Harness,
) -> None:
    replies(email, "Hola, quisiera información")
    found = email.contact()
    assert found is not None
    # when a person on the team writes to her from the alerts desk
    reached = email.app.runtime.reach_family(found.id, "Hola, Rosa: aquí estamos.")
    assert reached.outbox_id is not None
    email.advance(timedelta(minutes=1))
    # then the email's subject is Spanish, like everything around her words
    sent = [m for m in delivered(email) if m.text == "Hola, Rosa: aquí estamos."]
    assert [m.subject for m in sent] == ["Family Support: un mensaje de nuestro equipo"]
