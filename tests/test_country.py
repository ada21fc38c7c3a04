"""The family's country chooses every number they are given (docs/crisis.md, Country).

It comes from the phone number, else from the time zone they chose, else from a question at
sign-up asked only then, else DEFAULT_COUNTRY; COUNTRY changes it. A family of a country without
its own versions gets the international reply, never another country's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.channels.base import ChannelName
from bot.settings import Settings
from bot.simulation import Harness, Sent
from storage import models as m

pytestmark = pytest.mark.usefixtures("program_loaded_once")

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
UK_PHONE = "+442079460123"  # Ofcom keeps 020 7946 0xxx for drama: never a real phone
AU_PHONE = "+61491570156"  # ACMA keeps 0491 570 156 for drama
US_ONLY = ("988", "1-800-799-7233", "88788", "1-800-222-1222", "1-800-422-4453", "1-800-662-4357")
DANGER = {
    "overdose": "he's not breathing",
    "suicide": "my husband doesnt want to be here anymore",
    "violence": "he hit me again last night",
    "child": "my toddler swallowed some of my pills",
}


def says(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text) is not None


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'country.db'}")


def family(
    settings: Settings, channel: ChannelName, address: str, start: datetime = MONDAY_10AM
) -> Harness:
    return Harness(settings, start, channel=channel, address=address)


# 10 a.m. in Sydney: HELP and RESOURCES, which quiet hours hold, go at once there.
SYDNEY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Australia/Sydney"))


def join(h: Harness, zone: str, *more: str) -> list[Sent]:
    sent: list[Sent] = []
    for text in ("hi", "yes", "Ana", "2", "no", "Sam", zone, *more, "9am", "7pm"):
        sent += h.say(text)
    assert h.session().status == "active", [s.message_id for s in sent]
    return sent


def everything(h: Harness) -> dict[str, Sent]:
    """Each kind of emergency, HELP and RESOURCES, as this family gets them."""
    got = {}
    for category, words in DANGER.items():
        got[category] = h.say(words)[0]
    got["help"] = h.say("HELP")[0]
    got["resources"] = h.say("RESOURCES")[0]
    return got


@pytest.fixture
def uk(settings: Settings) -> Iterator[Harness]:
    h = family(settings, "sms", UK_PHONE)
    yield h
    h.close()


@pytest.mark.parametrize(
    ("who", "emergency", "lines"),
    [
        (
            "uk",
            "999",
            {
                "suicide": ["116 123", "85258"],
                "violence": ["0808 2000 247"],  # the UK's domestic abuse line
                "child": ["0808 800 5000"],  # and its child line (NSPCC)
                "help": ["116 123"],
                "resources": ["0808 2000 247", "NHS 111"],
            },
        ),
        (
            "australia",
            "000",
            {
                "suicide": ["13 11 14"],
                "violence": ["1800 737 732"],  # 1800RESPECT
                "child": ["13 11 26", "1800 55 1800"],  # poisons, Kids Helpline
                "help": ["13 11 14"],
                "resources": ["1800 250 015", "1800 737 732"],
            },
        ),
        (
            "mexico",
            "911",
            {
                "suicide": ["800 911 2000"],  # Línea de la Vida
                "violence": ["800 911 2000", "rednacionalderefugios.org.mx"],
                "child": ["089"],
                "help": ["800 911 2000"],
                "resources": ["800 911 2000"],
            },
        ),
    ],
)
def test_uk_australian_and_mexican_families_get_their_own_numbers_and_no_us_line(
    settings: Settings, who: str, emergency: str, lines: dict[str, list[str]]
) -> None:
    if who == "mexico":  # on Telegram, where the time zone they chose says the country
        h = family(settings, "telegram", "5550177")
        join(h, "mexico city")
    else:  # by SMS, where the phone number says it
        phone, start = (UK_PHONE, MONDAY_10AM) if who == "uk" else (AU_PHONE, SYDNEY_10AM)
        h = family(settings, "sms", phone, start)
        join(h, "london" if who == "uk" else "sydney")
    try:
        got = everything(h)
        country = h.session().profile["country"]
        assert country == {"uk": "GB", "australia": "AU", "mexico": "MX"}[who]
        for kind, sent in got.items():
            assert sent.message_id.endswith(f".{country}"), sent.message_id
            for line in US_ONLY:
                assert not says(sent.text, line), f"{who} {kind} names {line}: {sent.text}"
            if emergency != "911":  # the UK and Australian families never get 911
                assert not says(sent.text, "911"), f"{who} {kind}: {sent.text}"
            for line in lines.get(kind, []):
                assert line in sent.text, f"{who} {kind} lacks {line}: {sent.text}"
        for category in DANGER:
            assert got[category].text.split("\n")[0].count(emergency) == 1  # the first line
    finally:
        h.close()


def test_a_telegram_family_who_chose_europe_london_gets_uk_numbers(settings: Settings) -> None:
    h = family(settings, "telegram", "5550123")
    try:
        sent = join(h, "Europe/London")
        assert "country.ask" not in [s.message_id for s in sent]  # the time zone said it
        [reply, *_] = h.say("he hit me again last night")
        assert reply.message_id == "crisis.violence.GB"
        assert says(reply.text, "999") and "0808 2000 247" in reply.text
        assert not says(reply.text, "911") and "1-800-799-7233" not in reply.text
    finally:
        h.close()


def test_the_question_is_asked_only_when_neither_phone_nor_time_zone_says(
    settings: Settings,
) -> None:
    # a US phone number: never asked
    us = family(settings, "sms", "+15550123")
    try:
        assert "country.ask" not in [s.message_id for s in join(us, "pacific")]
    finally:
        us.close()
    # email and a time zone that belongs to no country: asked, and the answer kept
    h = family(settings, "email", "ana@example.org")
    try:
        sent = join(h, "UTC", "Germany")
        assert "country.ask" in [s.message_id for s in sent]
        profile = h.session().profile
        assert (profile["country"], profile["country_from"]) == ("DE", "said")
    finally:
        h.close()


def test_a_family_outside_the_list_gets_the_international_reply(settings: Settings) -> None:
    h = family(settings, "email", "jonas@example.org")
    try:
        join(h, "UTC", "Germany")
        got = everything(h)
        for kind, sent in got.items():
            assert "." not in sent.message_id.removeprefix("crisis.").removeprefix("keyword.")
            for number in ("911", "999", "000", *US_ONLY):
                assert not says(sent.text, number), f"{kind}: {sent.text}"
        for category in DANGER:
            first = got[category].text.split("\n")[0]
            assert "your local emergency number (112 in the European Union)" in first
        assert "findahelpline.com" in got["suicide"].text + got["violence"].text
    finally:
        h.close()


def test_country_changes_the_numbers_and_says_so(uk: Harness) -> None:
    join(uk, "london")
    assert [s.message_id for s in uk.say("COUNTRY")] == ["country.ask_change"]
    [done] = uk.say("Ireland")
    assert done.message_id == "country.set.IE" and "Ireland" in done.text
    reply = uk.say("I want to kill myself")[0]
    assert reply.message_id == "crisis.suicide.IE" and "50808" in reply.text
    # and to a country without numbers of its own, honestly
    uk.say("COUNTRY")
    [other] = uk.say("somewhere else")
    assert other.message_id == "country.set" and "findahelpline.com" in other.text


def test_the_check_in_asked_again_carries_this_countrys_safety_line(settings: Settings) -> None:
    h = family(settings, "sms", AU_PHONE, SYDNEY_10AM)
    try:
        join(h, "sydney")
        h.until("checkin")
        [again] = h.say("what do you mean")
        assert again.message_id.endswith(".AU") and says(again.text, "000")
    finally:
        h.close()


def test_a_mexican_family_writing_in_spanish_gets_mexicos_numbers_in_spanish(
    settings: Settings,
) -> None:
    h = family(settings, "telegram", "5550178")
    try:
        join(h, "mexico city")
        with h.app.ctx.db.begin() as db:
            db.execute(update(m.Contact).values(locale="es"))
        [reply, *_] = h.say("no respira")
        assert reply.message_id == "crisis.overdose.MX"
        assert reply.text.startswith("Llama al 911 ahora") and "988" not in reply.text
        suicide = h.say("quiero morirme")[0]
        assert "Línea de la Vida" in suicide.text and "800 911 2000" in suicide.text
    finally:
        h.close()
