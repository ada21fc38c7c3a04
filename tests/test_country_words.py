"""Lessons, prompts, safety lines and wellbeing replies name the family's country's numbers.

A message that says "call {emergency}" or "{dv_line}" is filled in for the family's country at
enqueue (bot/catalog/render.py `country_words`, `number.<name>.<CC>` in crisis_<cc>.yaml, else
the international `number.<name>` of numbers.yaml), so the naloxone lesson, the safety plan and
the step-back safety line never give a UK or Australian family 911 or a US hotline.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.catalog.render import Audience, Renderer, render
from bot.cli.main import main
from bot.settings import Settings
from bot.simulation import Harness, Sent
from tests.program import shipped

pytestmark = pytest.mark.usefixtures("program_loaded_once")

UK_PHONE = "+442079460123"  # Ofcom keeps 020 7946 0xxx for drama: never a real phone
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/London"))
US_ONLY = ("988", "1-800-799-7233", "88788", "1-800-222-1222", "Narcan", "Good Samaritan")
COUNTRY_VARIANT = re.compile(r"\.[A-Z]{2}$")
# Where the old texts named US numbers: the safety plan and answers, overdose and naloxone
# lessons, step-back replies, reviews and the wellbeing replies.
FAMILIES = ("lesson.", "review.", "safety.", "step_back.", "treatment_", "recovery_", "wellbeing.")
ORG = {"org": "Family Support", "org_contact": "call 555-0100"}


def says(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text) is not None


def said(message_id: str, country: str, locale: str = "en") -> str:
    audience = Audience("telegram", locale, {"relationship": "partner", "country": country})
    return render(shipped().catalogs, message_id, audience, ORG)


def family_messages() -> list[str]:
    return [
        i
        for i in shipped().catalogs.ids()
        if i.startswith(FAMILIES) and not COUNTRY_VARIANT.search(i)
    ]


@pytest.mark.parametrize(
    ("country", "emergency", "forbidden"),
    [
        ("GB", "999", ("911", "000", *US_ONLY)),
        ("AU", "000", ("911", "999", *US_ONLY)),
        ("IE", "112 or 999", ("911", *US_ONLY)),
        ("NZ", "111", ("911", *US_ONLY)),
        ("ES", "112", ("911", *US_ONLY)),
        ("MX", "911", US_ONLY),
        ("CA", "911", ("1-800-799-7233", "88788", "1-800-222-1222", "Narcan", "Good Samaritan")),
        ("DE", "your emergency number", ("911", "999", "000", *US_ONLY)),
    ],
)
def test_no_message_gives_another_countrys_number(
    country: str, emergency: str, forbidden: tuple[str, ...]
) -> None:
    seen_emergency = 0
    for message_id in family_messages():
        text = said(message_id, country)
        for number in forbidden:
            assert not says(text, number), f"{country} {message_id} names {number}: {text}"
        seen_emergency += emergency in text
    assert seen_emergency >= 20  # the safety lines are there, with this country's number


@pytest.mark.parametrize(
    ("country", "lines"),
    [
        ("US", ["911", "1-800-799-7233", "988", "Narcan", "Good Samaritan"]),
        ("GB", ["999", "0808 2000 247", "Samaritans on 116 123"]),
        ("AU", ["000", "1800 737 732", "Lifeline on 13 11 14"]),
        ("IE", ["112 or 999", "1800 341 900", "116 123"]),
        ("NZ", ["111", "0800 733 843", "1737"]),
        ("CA", ["911", "ShelterSafe.ca", "988"]),
        ("ES", ["112", "016", "024"]),
        ("MX", ["911", "800 911 2000"]),
        ("DE", ["your emergency number", "findahelpline.com"]),
    ],
)
def test_the_safety_plan_naloxone_and_crisis_line_carry_each_countrys_lines(
    country: str, lines: list[str]
) -> None:
    texts = (
        " ".join(
            said(i, country)
            for i in ("lesson.safety_plan", "safety.reply_yes", "lesson.naloxone_ready")
        )
        + " "
        + said("wellbeing.reply_low", country)
    )
    for line in lines:
        assert line in texts, f"{country} lacks {line}"


def test_a_spanish_family_in_mexico_reads_mexicos_lines_in_spanish() -> None:
    text = said("safety.reply_yes", "MX", "es") + said("wellbeing.reply_low", "MX", "es")
    assert "llama al 911" in text and "Línea de la Vida" in text and "800 911 2000" in text
    assert not any(says(text, n) for n in ("988", "1-800-799-7233", "88788"))
    plain = said("safety.reply_yes", "DE", "es")
    assert "llama al número de emergencias" in plain and "findahelpline.com" in plain


def test_a_uk_family_gets_uk_numbers_in_the_lessons_the_worker_sends(tmp_path: Path) -> None:
    # given a family who joined by SMS from a UK number
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'words.db'}")
    h = Harness(settings, MONDAY_10AM, channel="sms", address=UK_PHONE)
    try:
        for text in ("hi", "yes", "Ana", "2", "no", "Sam", "london", "9am", "7pm"):
            h.say(text)
        assert h.session().profile["country"] == "GB"
        # when a week of lessons is sent
        sent: list[Sent] = []
        for _ in range(8):
            sent += h.until("lesson")
        lessons = {s.message_id: s.text for s in sent}
        # then the safety plan and the naloxone lesson name the UK's numbers, never the US's
        plan, naloxone = lessons["lesson.safety_plan"], lessons["lesson.naloxone_ready"]
        assert says(plan, "999") and "0808 2000 247" in plan
        assert says(naloxone, "999") and "Narcan" not in naloxone
        for text in lessons.values():
            for number in ("911", *US_ONLY):
                assert not says(text, number), text
    finally:
        h.close()


def test_the_preview_reads_the_program_as_a_uk_family_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["content", "preview", "--relationship", "partner", "--country", "gb"]) == 0
    text = capsys.readouterr().out
    assert "call 999" in text and "0808 2000 247" in text
    assert not any(says(text, n) for n in ("911", "1-800-799-7233", "988"))


@pytest.mark.parametrize(
    ("locale", "word", "not_word"), [("en", "Hi friend,", "amigo"), ("es", "amigo/a", "friend")]
)
@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_a_family_without_a_name_is_greeted_in_their_language(
    locale: str, word: str, not_word: str, channel: str
) -> None:
    # given a family enrolled without a name (the Spanish welcome said "Hola, friend:")
    audience = Audience(channel, locale, {"lesson_time": "09:00", "checkin_time": "19:00"})
    # when their welcome and the renderer's own path fill {name}
    texts = [
        render(shipped().catalogs, "onboarding.enrolled", audience, ORG),
        Renderer().render(shipped().catalogs, "onboarding.enrolled", audience, ORG),
    ]
    # then the word for them is their language's
    for text in texts:
        assert word in text and not_word not in text, text


@pytest.mark.parametrize(
    ("country", "locale", "words"),
    [
        ("US", "en", "call 911"),
        ("GB", "en", "call 999"),
        ("ZZ", "en", "call your emergency number"),
        ("US", "es", "llama al 911"),
        ("ZZ", "es", "llama al número de emergencias"),
    ],
)
def test_after_three_unclear_replies_the_safety_line_has_the_familys_number(
    country: str, locale: str, words: str
) -> None:
    # a US family at the check-in got "call 911" in the question, then "call your local emergency
    # number" after the third unclear reply
    assert words in said("system.stuck", country, locale)
