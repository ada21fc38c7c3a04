"""A family a coach enrolled hears first who writes, what comes, how often and how to stop.

enroll() itself queues the welcome (craftbot enroll, craftbot import and any other caller), as a
program message: quiet hours hold it, and the first lesson never goes before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runtime.admin import WELCOME, Enrollment, enroll
from bot.settings import Settings
from bot.simulation import Harness, Sent

CHICAGO = ZoneInfo("America/Chicago")
MONDAY_2PM = datetime(2026, 3, 2, 14, 0, tzinfo=CHICAGO)
MONDAY_11PM = datetime(2026, 3, 2, 23, 0, tzinfo=CHICAGO)
SMS, TELEGRAM = "+12025550142", "5550142"


def enrolled(
    tmp_path: Path, at: datetime, request: Enrollment, org: str = "Riverside Family Center"
) -> Harness:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'welcome.db'}",
        default_timezone=CHICAGO.key,
        org_name=org,
    )
    harness = Harness(settings, at, request.channel, request.address)  # type: ignore[arg-type]
    enroll(harness.app.ctx, request, at)
    return harness


def first_day(harness: Harness, at: datetime) -> list[Sent]:
    """Everything the family receives until the next evening."""
    return harness.advance_to(at.replace(hour=20) + timedelta(days=1))


def test_an_enrolled_sms_family_is_welcomed_before_the_first_lesson(tmp_path: Path) -> None:
    # given Ana enrolled by a coach on Monday afternoon, lessons at 09:00, check-ins at 19:00
    request = Enrollment("sms", SMS, "Ana", "parent", timezone=CHICAGO.key)
    harness = enrolled(tmp_path, MONDAY_2PM, request)
    try:
        # when the worker runs through the next day
        got = first_day(harness, MONDAY_2PM)
    finally:
        harness.close()
    # then the first thing she gets is the welcome, at once (it is daytime for her)
    assert got[0].message_id == WELCOME and got[0].at - MONDAY_2PM < timedelta(minutes=1)
    text = got[0].text
    # naming the organisation, saying what comes and how often (the consent's range), how to
    # get help and to stop, and, on SMS, that rates may apply
    assert text.startswith("Hi Ana, welcome to Riverside Family Center craftbot")
    for words in ("25 to 40 messages a week", "at 09:00", "at 19:00", "HELP", "STOP"):
        assert words in text
    assert "Msg & data rates may apply" in text
    # and it asks for no YES: the organisation collected her agreement
    assert "YES" not in text
    # and the program follows: today's lesson at once (09:00 has passed), the check-in at 19:00
    kinds = [s.message_id.split(".")[0] for s in got[1:]]
    assert "lesson" in kinds and sum(s.message_id == WELCOME for s in got) == 1


def test_the_welcome_waits_for_quiet_hours_and_still_comes_before_the_lesson(
    tmp_path: Path,
) -> None:
    # given Ana enrolled at 23:00 her time, her lesson at 07:00 (inside quiet hours, to 08:00)
    request = Enrollment("telegram", TELEGRAM, "Ana", timezone=CHICAGO.key, lesson_time="07:00")
    harness = enrolled(tmp_path, MONDAY_11PM, request)
    try:
        # then nothing goes at night
        assert harness.advance_to(MONDAY_11PM + timedelta(hours=8, minutes=59)) == []
        # and at 08:00 the welcome goes first, then the lesson held to the same minute
        got = harness.advance_to(MONDAY_11PM + timedelta(hours=9, minutes=1))
    finally:
        harness.close()
    assert [s.message_id for s in got][0] == WELCOME
    assert got[0].at - datetime(2026, 3, 3, 8, 0, tzinfo=CHICAGO) < timedelta(minutes=1)
    assert got[1].message_id.startswith("lesson.") and got[1].at == got[0].at
    # and on Telegram no message rates are mentioned
    assert "rates" not in got[0].text and "STOP" in got[0].text


def test_an_enrolled_spanish_family_is_welcomed_in_spanish(tmp_path: Path) -> None:
    request = Enrollment("sms", SMS, "Rosa", "child", timezone=CHICAGO.key, locale="es")
    harness = enrolled(tmp_path, MONDAY_2PM, request)
    try:
        got = harness.advance_to(MONDAY_2PM + timedelta(minutes=1))
    finally:
        harness.close()
    assert got[0].message_id == WELCOME
    text = got[0].text
    assert text.startswith("Hola, Rosa: te escribe craftbot de Riverside Family Center")
    for words in ("25 a 40 mensajes por semana", "AYUDA", "STOP", "tarifas de mensajes"):
        assert words in text


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_welcome_does_not_expire_before_the_family_can_read_it(
    tmp_path: Path, channel: str
) -> None:
    # given a family enrolled while the worker is down for two days
    address = SMS if channel == "sms" else "ana@example.org"
    harness = enrolled(tmp_path, MONDAY_2PM, Enrollment(channel, address, "Ana"))
    try:
        harness.now = MONDAY_2PM + timedelta(days=2)
        # when it runs again, the welcome still goes, before that day's lesson
        got = harness.advance_to(harness.now.replace(hour=9, minute=1))
    finally:
        harness.close()
    ids = [s.message_id for s in got]
    assert ids[0] == WELCOME and any(i.startswith("lesson.") for i in ids[1:])
    assert ("Msg & data rates may apply" in got[0].text) == (channel == "sms")
