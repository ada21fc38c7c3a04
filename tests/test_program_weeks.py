"""Every family's program (issue 16): the engine's side of the safety question, the tracks, the
weekly questions on the family's own calendar, and what the family told us deciding the reply.

Pure: the shipped program, a session, an input and the family's local day. Transcripts
(tests/data/transcripts/*_program_*.yaml) show the same over weeks, through the runtime.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine import Message, Session, Trigger, step
from bot.engine import events as ev
from bot.engine.program import Program
from bot.engine.state import state_labels
from bot.settings import Settings
from bot.simulation import Harness
from tests.program import shipped

MONDAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def active(**profile: str) -> Session:
    return Session(
        status="active",
        onboarded=True,
        profile={"name": "Ana", "relationship": "sibling", "country": "US", **profile},
    )


def program(asking: bool = False) -> Program:
    return replace(shipped().program, asking=asking)


def said(events: list[ev.Event]) -> list[str]:
    return [e.message_id for e in events if isinstance(e, ev.Say)]


def day(n: int) -> tuple[datetime, date]:
    """The instant and local day of the family's day `n` (day 1: Monday 2 March)."""
    return NOW + timedelta(days=n - 1), MONDAY + timedelta(days=n - 1)


def lesson_on(session: Session, n: int, asking: bool = False) -> tuple[Session, list[str]]:
    now, today = day(n)
    session, events = step(program(asking), session, Trigger("lesson_due"), now, today)
    return session, said(events)


def evening(session: Session, n: int, answer: str) -> tuple[Session, list[ev.Event]]:
    now, today = day(n)
    session, _ = step(program(), session, Trigger("checkin_due"), now, today)
    return step(program(), session, Message(answer), now, today)


# --- the family's calendar ----------------------------------------------------------------------
def test_the_weekly_questions_follow_the_familys_own_calendar() -> None:
    started = Session(marks={"start": MONDAY.isoformat(), "lesson": MONDAY.isoformat()})
    assert state_labels(started, MONDAY, False) == frozenset()
    assert "safety_due" in state_labels(started, MONDAY + timedelta(days=1), False)
    asked = replace(started, marks={**started.marks, "safety": "2026-03-03"})
    assert "safety_due" not in state_labels(asked, MONDAY + timedelta(days=30), False)
    # the stage every two weeks, wellbeing every week, from the first lesson or the last asking
    assert "stage_due" not in state_labels(started, MONDAY + timedelta(days=13), False)
    assert "stage_due" in state_labels(started, MONDAY + timedelta(days=14), False)
    assert "wellbeing_due" in state_labels(started, MONDAY + timedelta(days=7), False)
    rated = replace(started, marks={**started.marks, "wellbeing": "2026-03-09"})
    assert "wellbeing_due" not in state_labels(rated, date(2026, 3, 15), False)
    # the summary on Sundays only, from the third day, once
    sunday = date(2026, 3, 8)
    assert "summary_due" in state_labels(started, sunday, False)
    assert "summary_due" not in state_labels(started, sunday - timedelta(days=1), False)
    sent = replace(started, marks={**started.marks, "summary": sunday.isoformat()})
    assert "summary_due" not in state_labels(sent, sunday, False)
    late_start = Session(marks={"start": "2026-03-06"})
    assert "summary_due" not in state_labels(late_start, sunday, False)


def test_what_the_family_told_us_holds_whatever_they_last_answered() -> None:
    labels = state_labels(
        active(safety="sometimes", track="recovery", wellbeing="2", wellbeing_before="1"),
        MONDAY,
        True,
    )
    assert {"unsafe", "track_recovery", "feeling_low", "still_low", "person_reads"} <= labels
    assert not {"unsafe", "feeling_low"} & state_labels(
        active(safety="no", wellbeing="3"), MONDAY, False
    )


# --- safety first -------------------------------------------------------------------------------
def test_the_safety_question_comes_once_after_the_second_lesson() -> None:
    session, first = lesson_on(active(), 1)
    assert first == ["lesson.what_is_craft"]
    session, second = lesson_on(session, 2)
    assert second == ["lesson.honest_hope", "safety.ask"]
    session, events = step(program(), session, Message("sometimes"), *day(2))
    assert said(events) == ["safety.reply_sometimes"]
    assert session.profile["safety"] == "sometimes"
    _, third = lesson_on(session, 3)
    assert third == ["lesson.your_wellbeing_counts"]


@pytest.mark.parametrize("answer", ["yes", "sometimes"])
def test_an_unsafe_family_gets_the_safety_plan_first_and_the_line_on_every_step_back(
    answer: str,
) -> None:
    session = active(safety=answer)
    for n in range(1, 8):
        session, events = evening(session, n, "2")
        says = [e for e in events if isinstance(e, ev.Say)]
        assert says[0].message_id == "safety.plan_first"
        assert says[1].message_id.startswith("step_back.") and says[1].append == "safety.line"


def test_a_family_that_feels_safe_gets_the_step_back_as_it_is() -> None:
    _, events = evening(active(safety="no"), 1, "2")
    says = [e for e in events if isinstance(e, ev.Say)]
    assert says[0].message_id.startswith("step_back.") and says[0].append is None


def test_safety_changes_the_answer_any_time() -> None:
    session, events = step(program(), active(safety="yes"), Message("SAFETY"), NOW)
    assert said(events) == ["safety.ask"]
    session, events = step(program(), session, Message("no"), NOW)
    assert said(events) == ["safety.reply_no"] and session.profile["safety"] == "no"


# --- the tracks ---------------------------------------------------------------------------------
def test_the_stage_answer_moves_the_family_to_its_tracks_lessons_and_replies() -> None:
    session, _ = lesson_on(active(), 1)
    session, events = step(program(), session, Message("UPDATE"), NOW)
    assert said(events) == ["stage.ask"]
    session, events = step(program(), session, Message("2"), NOW)
    assert said(events) == ["stage.reply_treatment"] and session.profile["track"] == "treatment"
    session, lesson = lesson_on(session, 2)
    assert lesson[0] == "treatment_lesson.your_part_now"
    session, events = evening(session, 2, "1")
    assert said(events)[0].startswith("treatment_reward.")
    _, events = evening(session, 3, "2")
    assert said(events)[0].startswith("treatment_step_back.")
    # back to engaging: the engaging lessons go on where they stopped
    session, _ = step(program(), session, Message("UPDATE"), NOW)
    session, _ = step(program(), session, Message("not yet"), NOW)
    _, lesson = lesson_on(session, 4)
    assert lesson[0] == "lesson.honest_hope"


def test_not_sure_keeps_the_track() -> None:
    session, _ = step(program(), active(track="recovery"), Message("UPDATE"), NOW)
    session, events = step(program(), session, Message("4"), NOW)
    assert said(events) == ["stage.reply_unsure"] and session.profile["track"] == "recovery"


# --- their own wellbeing ------------------------------------------------------------------------
def ask_wellbeing(session: Session, asking: bool, answer: str) -> tuple[Session, list[str]]:
    session = replace(session, flow="wellbeing_question", step="ask", waiting=True, wait_seq=1)
    session, events = step(program(asking), session, Message(answer), NOW)
    return session, said(events)


def test_a_low_answer_turns_the_nudges_toward_a_hard_week() -> None:
    session, replies = ask_wellbeing(active(), False, "2")
    assert replies == ["wellbeing.reply_low"]
    _, events = step(program(), session, Trigger("nudge_due"), NOW)
    assert said(events)[0].startswith("selfcare_low.")
    session, _ = ask_wellbeing(session, False, "4")
    _, events = step(program(), session, Trigger("nudge_due"), NOW)
    assert said(events)[0].startswith("selfcare.")


def test_a_standing_low_answer_offers_a_person_only_where_one_reads_questions() -> None:
    low, _ = ask_wellbeing(active(), True, "1")
    _, replies = ask_wellbeing(low, True, "2")
    assert replies == ["wellbeing.reply_low", "wellbeing.offer_person"]
    _, replies = ask_wellbeing(low, False, "2")
    assert replies == ["wellbeing.reply_low", "selfcare_low.family_group"]


def test_lesson_feedback_is_kept_with_the_lesson_it_rates() -> None:
    session = active()
    for n in range(1, 8):
        session, _ = lesson_on(session, n)
    session, _ = lesson_on(session, 8)
    rated = session.today_lesson
    session, events = evening(session, 8, "1")
    assert said(events)[-1] == "feedback.ask"
    session, events = step(program(), session, Message("5"), *day(8))
    assert said(events) == ["feedback.thanks"]
    assert ev.SetProfile("lesson_rating", "5") in events and rated == session.today_lesson


# --- through the runtime: the line at the end, said once -------------------------------------
def test_the_safety_line_ends_each_step_back_reply_once(tmp_path: Path) -> None:
    zone = ZoneInfo("America/Denver")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", default_timezone=zone.key)
    harness = Harness(settings, datetime(2026, 3, 2, 10, 0, tzinfo=zone), "sms", "+15550144")
    line = "If you feel unsafe, leave and call 911."
    try:
        for text in ("hi", "yes", "Lena", "2", "no", "Marc", "mountain", "7am", "9pm"):
            harness.say(text)
        harness.until("lesson")
        assert [s.message_id for s in harness.say("yes")] == ["safety.reply_yes"]
        replies = []
        for _ in range(7):  # a week of use evenings: the first five carry a line of their own
            harness.until("checkin")
            replies += [s for s in harness.say("2") if s.message_id.startswith("step_back.")]
    finally:
        harness.close()
    assert len(replies) == 7
    for reply in replies:
        assert reply.text.count("call 911") == 1, reply.text  # never twice
    assert any(r.text.endswith(line) and r.text.count(line) == 1 for r in replies)
