"""Answers at any hour (issue 20): quiet hours hold what the program starts, never the answer to a
person's own message; an answer that could not go within REPLY_WINDOW_MINUTES waits for the
morning like the program's messages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.base import InboundMessage
from bot.runtime.exports import export_rows
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.hours import held_until
from bot.settings import Settings
from bot.simulation import Harness
from storage import console_queries
from storage import models as m

pytestmark = pytest.mark.usefixtures("program_loaded_once")

NY = ZoneInfo("America/New_York")
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=NY)
TUESDAY_2AM = datetime(2026, 3, 3, 2, 0, tzinfo=NY)
FAMILY = "+15550123"
JOIN = ("hi", "yes", "I'm Ana", "1", "no", "Sam", "eastern", "9am", "7pm")
WINDOW = timedelta(minutes=30)


def at(text: str) -> datetime:
    """A New York wall time, such as '2026-03-02 23:50'."""
    return datetime.fromisoformat(text).replace(tzinfo=NY)


@contextmanager
def joined(tmp_path: Path, start: datetime) -> Iterator[Harness]:
    """A family that signed up at `start` (New York), on SQLite."""
    harness = Harness(Settings(database_url=f"sqlite:///{tmp_path / 'hours.db'}"), start)
    harness.address = FAMILY
    try:
        for text in JOIN:
            harness.say(text)
        yield harness
    finally:
        harness.close()


@pytest.fixture
def family(tmp_path: Path) -> Iterator[Harness]:
    with joined(tmp_path, MONDAY_10AM) as harness:
        yield harness


def outbox(h: Harness) -> list[m.OutboundMessage]:
    with h.app.ctx.db() as db:
        return list(db.scalars(select(m.OutboundMessage).order_by(m.OutboundMessage.id)))


def written_unsent(h: Harness, text: str, when: datetime) -> int:
    """The family writes `text` at `when` while no worker runs: the answer is queued, not sent."""
    h.now = when
    message = InboundMessage("sms", FAMILY, text, f"down-{when.isoformat()}")
    [row] = h.app.runtime.handle_inbound(message, when).outbox_ids
    return row


def dispatch(h: Harness, when: datetime) -> None:
    h.now = when
    asyncio.run(h.app.dispatcher.drain(when))


# --- an answer goes at once, at any hour -------------------------------------------------------
ANSWERS = {
    "HELP": ("HELP", "keyword.help.US"),
    "STOP": ("STOP", "keyword.stopped"),
    "START": ("START", "keyword.started"),  # after a STOP in the evening
    "PAUSE": ("PAUSE", "keyword.paused"),
    "RESUME": ("RESUME", "keyword.resumed"),  # after a PAUSE in the evening
    "a fallback": ("thank you, this helps", "system.fallback"),
    "LESSON": ("LESSON", "lesson."),
}
BEFORE = {"START": "STOP", "RESUME": "PAUSE"}


@pytest.mark.parametrize("case", list(ANSWERS))
def test_an_answer_to_a_message_at_two_in_the_morning_goes_at_once(
    family: Harness, case: str
) -> None:
    # given a family in New York (quiet hours 21:00-08:00), at 02:00 their time
    if case in BEFORE:
        family.advance_to(at("2026-03-02 20:00"))
        family.say(BEFORE[case])
    family.advance_to(TUESDAY_2AM)
    words, expected = ANSWERS[case]
    # when they write
    sent = family.say(words)
    # then the answer reaches them at 02:00, and nothing waits for the morning
    assert [s.message_id[: len(expected)] for s in sent] == [expected]
    assert sent[0].at == TUESDAY_2AM
    assert family.held() == []


def test_the_consent_exchange_at_night_is_answered_at_once(tmp_path: Path) -> None:
    # given a newcomer who writes at 02:00
    h = Harness(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"), TUESDAY_2AM, "sms")
    try:
        # when they say hi, agree and give their name
        said = [h.say(text) for text in ("hi", "yes", "I'm Ana")]
        # then each question comes at once
        assert [[s.message_id for s in one] for one in said] == [
            ["onboarding.consent"],
            ["onboarding.ask_name"],
            ["onboarding.ask_relationship"],
        ]
        assert {s.at for one in said for s in one} == {TUESDAY_2AM}
    finally:
        h.close()


def test_a_check_in_answer_and_a_reflection_in_quiet_hours_are_answered_at_once(
    family: Harness,
) -> None:
    # given tonight's check-in (19:00), answered after quiet hours began at 21:00
    family.until("checkin")
    family.advance_to(at("2026-03-02 21:40"))
    # when the family writes about their evening, then answers
    reflection = family.say("it was rough, he was yelling")
    reward = family.say("1")
    # then both answers go at once
    assert [s.message_id for s in reflection] == ["checkin.reask.US"]
    assert [s.message_id[:7] for s in reward] == ["reward."]
    assert {s.at for s in reflection + reward} == {at("2026-03-02 21:40")}
    assert family.checkins() == ["non_use"]


# --- what the program starts waits for the morning ---------------------------------------------
def test_a_lesson_due_at_two_in_the_morning_is_held_to_the_end_of_quiet_hours(
    tmp_path: Path,
) -> None:
    # given a family who chose 2am for their lessons
    h = Harness(Settings(database_url=f"sqlite:///{tmp_path / 'two.db'}"), MONDAY_10AM)
    try:
        for text in (*JOIN[:7], "2am", "7pm"):
            h.say(text)
        # when the next lessons come
        sent = h.advance_to(at("2026-03-05 12:00"))
        # then each arrives when quiet hours end
        lessons = {s.at.astimezone(NY) for s in sent if s.message_id.startswith("lesson.")}
        assert lessons == {at(f"2026-03-0{d} 08:00") for d in (3, 4, 5)}
    finally:
        h.close()


def test_a_check_in_the_worker_could_not_send_before_two_is_never_sent(
    family: Harness,
) -> None:
    # given tonight's check-in written at 19:00 while the dispatcher was down
    family.app.runtime.fire_due(at("2026-03-02 19:00"))
    [row] = [r for r in outbox(family) if r.message_id == "checkin.question"]
    assert row.status == "queued"
    # when the dispatcher comes back at 02:00
    dispatch(family, TUESDAY_2AM)
    # then the program's question does not wake the family, and it is not asked in the morning
    # either: its day is over (issue 12, delivery semantics)
    [row] = [r for r in outbox(family) if r.message_id == "checkin.question"]
    assert (row.status, row.reason, row.in_reply_to) == ("expired", "day_over", None)
    assert row.sent_at is None


def test_a_lesson_waiting_to_be_sent_does_not_follow_a_pause(family: Harness) -> None:
    # given this morning's lesson written at 09:00 and still waiting in the queue (a fan-out to
    # many families takes a while)
    family.advance_to(at("2026-03-03 08:59"))
    family.now = at("2026-03-03 09:00")
    family.app.runtime.fire_due(family.now)
    waiting = [r.id for r in outbox(family) if r.status == "queued"]
    assert waiting
    # when the family texts PAUSE before it goes
    sent = family.say("PAUSE")
    # then they get the confirmation, and nothing the program wrote comes after it
    assert [s.message_id for s in sent] == ["keyword.paused"]
    assert {(r.status, r.reason) for r in outbox(family) if r.id in waiting} == {
        ("cancelled", "paused")
    }
    # and after RESUME the program goes on: tonight's check-in, tomorrow's lesson
    family.say("RESUME")
    assert [s.message_id[:7] for s in family.until("lesson")] == ["checkin", "lesson."]


def test_a_nudge_written_at_night_by_a_late_worker_waits_for_the_morning(
    family: Harness,
) -> None:
    # given a program message written at 02:00 (a crisis follow-up falls due then, say)
    family.now = TUESDAY_2AM
    with family.app.ctx.db.begin() as db:
        db.add(
            m.OutboundMessage(
                contact_id=family.contact().id,  # type: ignore[union-attr]
                channel="sms",
                address=FAMILY,
                message_id="selfcare.walk",
                kind="normal",
                text="A short walk today?",
                status="queued",
                not_before=TUESDAY_2AM,
                attempts=0,
                created_at=TUESDAY_2AM,
            )
        )
    # when the dispatcher runs at 02:00
    dispatch(family, TUESDAY_2AM)
    # then it is held until quiet hours end
    [row] = [r for r in outbox(family) if r.message_id == "selfcare.walk"]
    assert row.status == "queued" and row.not_before.astimezone(NY) == at("2026-03-03 08:00")


# --- the reply window --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "dispatched", "goes"),
    [
        pytest.param("2026-03-02 23:50", "2026-03-03 00:15", True, id="23:50, sent at 00:15"),
        pytest.param("2026-03-02 23:50", "2026-03-03 01:00", False, id="23:50, worker at 01:00"),
        # fall back (1 November 2026): 01:50 EDT, then 01:10 EST twenty minutes later
        pytest.param("2026-11-01 01:50-04:00", "2026-11-01 01:10-05:00", True, id="fall back"),
        pytest.param("2026-10-31 23:50", "2026-11-01 01:10-05:00", False, id="fall back, late"),
        # spring forward (8 March 2026): 01:50 EST, then 03:05 EDT fifteen minutes later
        pytest.param("2026-03-08 01:50", "2026-03-08 03:05", True, id="spring forward"),
        pytest.param("2026-03-08 01:50", "2026-03-08 03:30", False, id="spring forward, late"),
    ],
)
def test_an_answer_is_owed_at_night_only_within_the_reply_window(
    tmp_path: Path, written: str, dispatched: str, goes: bool
) -> None:
    # given a family who joined the morning before, and HELP at `written`, its answer queued
    # while the worker was down
    when = datetime.fromisoformat(written)
    when = when if when.tzinfo else when.replace(tzinfo=NY)
    day_before = when.astimezone(NY).date() - timedelta(days=1)
    with joined(tmp_path, datetime.combine(day_before, time(10), NY)) as family:
        family.advance_to(when - timedelta(minutes=1))
        row_id = written_unsent(family, "HELP", when)
        owed_only_within_the_window(family, row_id, dispatched, goes)


def owed_only_within_the_window(family: Harness, row_id: int, dispatched: str, goes: bool) -> None:
    # when the dispatcher runs at `dispatched`
    later = datetime.fromisoformat(dispatched)
    later = later if later.tzinfo else later.replace(tzinfo=NY)
    dispatch(family, later)
    # then within 30 minutes (real time, whatever the wall clock did) it goes; later it waits
    # for 08:00 and goes then
    [row] = [r for r in outbox(family) if r.id == row_id]
    if goes:
        assert row.status == "sent"
        return
    morning = datetime.combine(later.astimezone(NY).date(), datetime.min.time()).replace(
        hour=8, tzinfo=NY
    )
    assert row.status == "queued" and row.not_before == morning
    dispatch(family, morning)
    [row] = [r for r in outbox(family) if r.id == row_id]
    assert row.status == "sent" and row.sent_at == morning


def test_the_rule_itself() -> None:
    clock = Clocks(Settings(database_url="sqlite://")).of("America/New_York", None, None)
    night, morning = at("2026-03-03 02:00"), at("2026-03-03 08:00")
    # a crisis reply and a staff notice: always now
    assert held_until("crisis", None, night, clock, night, WINDOW) is None
    assert held_until("normal", None, night, None, night, WINDOW) is None
    # an answer within the window: now; after it, the morning
    assert held_until("normal", 7, night, clock, night + WINDOW, WINDOW) is None
    assert held_until("compliance", 7, night, clock, night, WINDOW) is None
    late = night + WINDOW + timedelta(seconds=1)
    assert held_until("normal", 7, night, clock, late, WINDOW) == morning
    # the program's: the morning at night, now by day
    assert held_until("normal", None, night, clock, night, WINDOW) == morning
    assert held_until("normal", None, morning, clock, morning, WINDOW) is None


# --- visible where people look ------------------------------------------------------------------
def test_export_and_console_say_which_message_answers_which(family: Harness) -> None:
    # given a night answer and a lesson the program sent
    family.advance_to(TUESDAY_2AM)
    family.say("HELP")
    family.until("lesson")
    # when the messages are exported
    rows = list(export_rows(family.app.ctx, "messages"))
    help_in = next(r for r in rows if r["direction"] == "in" and r["text"] == "HELP")
    help_out = next(r for r in rows if r["message_id"] == "keyword.help.US")
    lesson = [r for r in rows if r["direction"] == "out" and r["message_id"].startswith("lesson.")]
    # then the answer names the message it answers, and the program's messages name none
    assert help_out["in_reply_to"] == help_in["id"]
    assert lesson[-1]["in_reply_to"] is None
    # and the console's timeline says the same
    contact_id = family.contact().id  # type: ignore[union-attr]
    with family.app.ctx.db() as db:
        timeline = console_queries.timeline(db, contact_id, 200)
    answers = {r.message_id: r.reply_to for r in timeline if r.kind == "out"}
    assert answers["keyword.help.US"] == help_in["id"]
    assert answers[lesson[-1]["message_id"]] is None
