"""A newcomer's first week on uvicorn and the stand-ins (issue 14's proof).

An unknown number texts LESSON, asks what this is, agrees, signs up with odd answers, and lives a
week while `craftbot tick --at` runs at many hours of the day. Asserted as the family would notice
it: every message they send gets an answer; no lesson before they said YES; one check-in record a
day (a second answer replaces the first and says so); every scheduled message comes at the time
the confirmation gave, and nothing but a reply to their own words comes in quiet hours.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage import models as m
from tests.e2e import Family, Providers, Stack, running_stack
from tests.test_e2e_alert_loop import cli

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=CHICAGO)
PHONE = "+15550144"
# Local hours at which the cron-style tick runs: at, just before and after the chosen times, in
# the night and around the edges of quiet hours (21:00-08:00).
TICKS = [time(3, 0), time(7, 59), time(8, 0), time(12, 0), time(20, 29), time(20, 30)]
LATE_TICKS = [time(23, 30)]
# Evening answers, one a day; the second of Tuesday's replaces the first.
ANSWERS = {
    0: ["nah, nothing"],
    1: ["1", "actually he drank tonight"],
    2: ["3"],
    3: ["he stayed home all day and didn't touch anything"],
    4: ["2"],
    5: ["not sure"],
    6: ["1"],
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with (
        Providers.running() as providers,
        # a quick SMS pace: the week's times are asserted here, the channel's pace in
        # test_shared_pace
        running_stack(
            providers, tmp_path, start=MONDAY.astimezone(ZoneInfo("UTC")), sms_rate_per_s=50.0
        ) as running,
    ):
        yield running


def tick_at(stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any, at: datetime) -> None:
    stack.clock.now = at
    out = cli(stack, monkeypatch, capsys, "tick", "--at", at.isoformat())
    assert json.loads(out)["failed"] == 0


def test_a_newcomers_first_week_has_no_dead_end_no_early_lesson_one_checkin_a_day_right_times(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    family = Family(stack, "sms", PHONE, lambda text: stack.sms(PHONE, text))
    answered: list[tuple[str, list[str]]] = []

    def say(text: str) -> list[str]:
        got = family.say(text)
        answered.append((text, got))
        return got

    # when an unknown number texts a keyword, asks what this is, and hesitates
    assert say("LESSON") == ["onboarding.consent"]
    assert say("what is this? who gave you my number") == ["yes_no.reflect.question"]
    assert say("no idea") == ["onboarding.consent_reask"]
    consent_text = family.texts()[0]
    assert (
        "25 to 40 messages a week" in consent_text and "Msg & data rates may apply" in consent_text
    )
    # then nothing but the consent exchange came, and no lesson
    assert not [r for r in stack.outbox(address=PHONE) if r.message_id.startswith("lesson.")]

    # when she agrees and signs up with odd answers
    assert say("yes") == ["onboarding.ask_name"]
    assert say("well I'm Margaret but call me Maggie, I'm so worried about my son")[0].startswith(
        "name.reflect."
    )
    assert say("Maggie") == ["onboarding.ask_relationship"]
    assert say("mom") == ["onboarding.ask_discreet"]
    assert say("no") == ["onboarding.ask_loved_one"]
    assert say("skip") == ["onboarding.ask_timezone"]
    assert say("central") == ["onboarding.ask_lesson_time"]
    assert say("whenever") == ["onboarding.reask_time"]
    assert say("7am") == ["onboarding.ask_checkin_time"]
    done = say("8:30ish pm")
    assert done[0] == "onboarding.done" and done[1].startswith("lesson.")
    # then the confirmation gives the times messages will really come: 07:00 is in quiet hours
    confirmation = family.texts()[-2]
    assert "a lesson each day at 08:00" in confirmation and "check-in at 20:30" in confirmation
    [consent] = [c for c in stack.consents("sms", PHONE) if c[0] == "consent"]
    assert consent == ("consent", "self", "yes")

    # when she lives a week, the tick running at many hours of the day
    day = MONDAY.date()
    for n in range(7):
        for at in TICKS:
            tick_at(stack, monkeypatch, capsys, datetime.combine(day, at, CHICAGO))
        family.news()
        for text in ANSWERS[n]:
            stack.clock.now += timedelta(minutes=5)
            say(text)
        for at in LATE_TICKS:
            tick_at(stack, monkeypatch, capsys, datetime.combine(day, at, CHICAGO))
        family.news()
        day += timedelta(days=1)

    # then every message she sent got an answer
    assert [text for text, got in answered if not got] == []
    # and no lesson was queued before her YES
    rows = stack.outbox(address=PHONE)
    lessons = [r for r in rows if r.message_id.startswith(("lesson.", "review."))]
    with stack.app.ctx.db() as db:
        agreed = db.query(m.Consent).filter(m.Consent.action == "consent").one().at
    assert lessons and min(r.created_at for r in lessons) >= agreed
    # and one check-in record a day; Tuesday's second answer replaced the first, and said so
    with stack.app.ctx.db() as db:
        stored = [(c.local_date, c.value) for c in db.query(m.Checkin).order_by(m.Checkin.id)]
    assert max(Counter(d for d, _ in stored).values()) == 1
    assert dict(stored)[MONDAY.date() + timedelta(days=1)] == "use"
    assert sum(r.message_id == "checkin.replaced" for r in rows) == 1
    assert len(stored) == 7
    # and every scheduled message came at the confirmed time, nothing in quiet hours
    for row in rows:
        assert row.sent_at is not None, row.message_id
        local = row.sent_at.astimezone(CHICAGO).time()
        if row.message_id.startswith(("lesson.", "review.")) and row.created_at > agreed:
            created = row.created_at.astimezone(CHICAGO).time()
            if created == local:  # a scheduled one (the first came as a reply to joining)
                assert local == time(8, 0), row.message_id
        if row.message_id == "checkin.question":
            assert local == time(20, 30)
        assert time(8, 0) <= local < time(21, 0), (row.message_id, local)
