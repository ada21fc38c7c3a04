"""The pure engine: given a program, a session and one input at a time, what happens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import Message, Session, Timeout, Trigger, step
from bot.engine import events as ev
from bot.engine.program import Program
from bot.flows.model import FlowSet
from tests.program import shipped

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ACTIVE = Session(
    status="active",
    onboarded=True,
    profile={
        "name": "Ana",
        "relationship": "parent",
        "timezone": "America/Chicago",
        "lesson_time": "09:00",
        "checkin_time": "19:00",
        "country": "US",
    },
)


def program() -> Program:
    return shipped().program


def said(events: list[ev.Event]) -> list[str]:
    return [e.message_id for e in events if isinstance(e, ev.Say)]


def run(session: Session, *texts: str, now: datetime = NOW) -> tuple[Session, list[ev.Event]]:
    out: list[ev.Event] = []
    for text in texts:
        session, events = step(program(), session, Message(text), now)
        out += events
    return session, out


def at_checkin(session: Session = ACTIVE) -> Session:
    session, events = step(program(), session, Trigger("checkin_due"), NOW)
    assert said(events) == ["checkin.question"]
    return session


def test_a_first_message_starts_onboarding_with_consent() -> None:
    session, events = run(Session(), "hello")
    assert said(events) == ["onboarding.consent"]
    assert session.status == "onboarding" and session.waiting
    assert any(isinstance(e, ev.WaitStarted) and e.timeout_s == 2 * 86400 for e in events)


def test_onboarding_saves_the_profile_and_ends_with_the_first_lesson() -> None:
    session, events = run(
        Session(), "hi", "yes", "my name is Ana", "2", "no", "Sam", "pacific", "9am", "7:30pm"
    )
    assert session.status == "active" and session.onboarded
    assert session.profile == {
        "locale": "en",  # "hi" says English: joining does not ask
        "name": "Ana",
        "relationship": "partner",
        "discreet": "no",  # nobody else sees the messages
        "loved_one": "Sam",
        "timezone": "America/Los_Angeles",
        "country": "US",  # the time zone said it: the country question was not asked
        "country_from": "timezone",
        "lesson_time": "09:00",
        "checkin_time": "19:30",
    }
    assert "country.ask" not in said(events)
    assert said(events)[-2:] == ["onboarding.done", program().flows.order.lessons[0]]
    assert [e.words for e in events if isinstance(e, ev.ConsentChanged)] == ["yes"]
    assert any(isinstance(e, ev.OnboardingCompleted) for e in events)


@pytest.mark.parametrize(
    ("replies", "name", "loved_one"),
    [
        # a greeting, thanks or "idk" is asked again, never kept as a name ("Welcome, Hi.")
        (("hi", "Ana"), "Ana", "Sam"),
        (("thanks", "ok", "idk", "Ana"), "Ana", "Sam"),
        # a greeting before the name is no part of it, in either language
        (("hey, I'm Ana",), "Ana", "Sam"),
        (("hola, soy Lucía",), "Lucía", "Sam"),  # and her accent stays
    ],
)
def test_a_name_is_a_name(replies: tuple[str, ...], name: str, loved_one: str) -> None:
    # given a newcomer who agreed and is asked her name
    session, _ = run(Session(), "hi", "yes")
    # when she answers with these replies, then the rest of joining
    session, events = run(session, *replies, "2", "no", "my husband", "Sam", "pacific")
    # then only a name is kept; "my husband" for the loved one's name is asked again
    assert session.profile["name"] == name
    assert session.profile["loved_one"] == loved_one
    assert said(events).count("onboarding.reask_loved_one") == 1


def test_saying_no_to_consent_sends_nothing_more_until_they_write_again() -> None:
    session, events = run(Session(), "hi", "no thanks")
    assert session.status == "declined"
    assert said(events)[-1] == "onboarding.declined"
    assert step(program(), session, Trigger("lesson_due"), NOW)[1] == [
        ev.Ignored("lesson_due: the contact is declined")
    ]
    _, again = run(session, "actually I'd like to join")
    assert said(again) == ["onboarding.consent"]


def test_a_non_use_day_is_recorded_and_rewarded() -> None:
    session, events = run(at_checkin(), "1")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["non_use"]
    assert said(events)[0].startswith("reward.")
    assert not session.waiting and session.flow is None


def test_a_use_day_gets_a_step_back_prompt_and_self_care() -> None:
    _, events = run(at_checkin(), "he drank again tonight")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["use"]
    kinds = [m.split(".")[0] for m in said(events)]
    assert kinds == ["step_back", "selfcare"]


def test_unsure_gets_help_reading_signs() -> None:
    _, events = run(at_checkin(), "not sure honestly")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["unsure"]
    assert said(events)[0].startswith("unsure.")


def test_an_unclear_reply_is_never_recorded_and_the_question_is_asked_again_briefly() -> None:
    session, events = run(at_checkin(), "ok")
    assert said(events) == ["checkin.reask.US"] and not any(
        isinstance(e, ev.RecordCheckin) for e in events
    )
    assert session.waiting
    session, events = run(session, "who is this?")
    # free text is reflected (here: a question), and the reflection asks again
    assert said(events) == ["checkin.reflect.question.US"]
    session, events = run(session, "???")
    # the third unclear reply is never met with silence: how to reach a person, and the
    # question again, still open
    assert said(events) == ["system.stuck", "checkin.question"] and session.waiting
    assert not any(isinstance(e, ev.RecordCheckin) for e in events)
    session, events = run(session, "1")
    assert said(events)[0].startswith("reward.")


def test_a_wish_or_dip_adds_a_window_of_opportunity_prompt() -> None:
    _, events = run(at_checkin(), "1, and he said he wants things to be different")
    assert [m.split(".")[0] for m in said(events)] == ["reward", "window"]


def test_prompts_rotate_so_the_same_words_do_not_come_every_night() -> None:
    session, first = run(at_checkin(), "1")
    _, second = run(at_checkin(session), "1")
    assert said(first)[0] != said(second)[0]


def test_help_in_the_middle_of_a_question_leaves_the_question_open() -> None:
    session, events = run(at_checkin(), "HELP")
    assert said(events) == ["keyword.help.US"]
    assert session.waiting and session.step == "ask"
    _, events = run(session, "2")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["use"]


def test_a_timeout_closes_the_question_and_a_stale_one_does_nothing() -> None:
    session = at_checkin()
    stale, events = step(program(), session, Timeout(session.wait_seq - 1), NOW)
    assert stale == session and isinstance(events[0], ev.Ignored)
    closed, events = step(program(), session, Timeout(session.wait_seq), NOW + timedelta(hours=3))
    assert not closed.waiting and said(events) == []


def test_stop_confirms_once_then_nothing_but_start_and_crisis_is_answered() -> None:
    session, events = run(ACTIVE, "STOP")
    assert session.status == "opted_out"
    assert [(e.message_id, e.kind) for e in events if isinstance(e, ev.Say)] == [
        ("keyword.stopped", "compliance")
    ]
    _, events = run(session, "hello?")
    assert said(events) == []
    assert isinstance(step(program(), session, Trigger("lesson_due"), NOW)[1][0], ev.Ignored)
    _, events = run(session, "she took too many pills")
    assert [(e.message_id, e.kind) for e in events if isinstance(e, ev.Say)][0] == (
        "crisis.overdose.US",
        "crisis",
    )
    session, events = run(session, "START")
    assert session.status == "active" and said(events) == ["keyword.started"]


def test_stop_words_only_count_as_a_whole_message() -> None:
    session, events = run(ACTIVE, "please stop texting me at work")
    assert session.status == "active"
    assert said(events) == ["system.fallback"]


def test_pause_for_three_days_then_lessons_come_back_by_themselves() -> None:
    session, events = run(ACTIVE, "PAUSE 3 days")
    assert said(events) == ["keyword.paused"]
    assert isinstance(
        step(program(), session, Trigger("lesson_due"), NOW + timedelta(days=2))[1][0], ev.Ignored
    )
    _, later = step(program(), session, Trigger("lesson_due"), NOW + timedelta(days=3, minutes=1))
    assert said(later)[0].startswith("lesson.")


def test_pause_without_a_date_lasts_until_resume() -> None:
    session, _ = run(ACTIVE, "pause")
    assert isinstance(
        step(program(), session, Trigger("checkin_due"), NOW + timedelta(days=90))[1][0], ev.Ignored
    )
    session, events = run(session, "resume")
    assert said(events) == ["keyword.resumed"] and not session.paused_at(NOW)


def test_a_crisis_in_the_middle_of_a_check_in_is_answered_and_pauses_the_program() -> None:
    session, events = run(at_checkin(), "he's not breathing")
    crisis = [e for e in events if isinstance(e, ev.CrisisDetected)]
    assert crisis and crisis[0].category == "overdose"
    assert said(events)[:2] == ["crisis.overdose.US", "crisis.team_told"]
    assert not any(isinstance(e, ev.RecordCheckin) for e in events)
    assert session.flow is None and session.paused_at(NOW + timedelta(hours=23))
    assert [e.at for e in events if isinstance(e, ev.FollowupScheduled)] == [
        NOW + timedelta(hours=4)
    ]


def test_the_follow_up_after_a_crisis_resumes_the_program_when_they_are_ok() -> None:
    session, _ = run(ACTIVE, "I can't do this anymore, I want to end it all")
    session, events = step(program(), session, Trigger("followup_due"), NOW + timedelta(hours=4))
    assert said(events) == ["crisis.followup"]
    session, events = run(session, "we're ok", now=NOW + timedelta(hours=5))
    assert said(events) == ["crisis.followup_ok"] and not session.paused_at(
        NOW + timedelta(hours=5)
    )


def test_the_crisis_reply_uses_the_family_country() -> None:
    uk = replace(ACTIVE, profile={**ACTIVE.profile, "country": "GB"})
    _, events = run(uk, "she has a knife and I'm scared")
    assert said(events)[0] == "crisis.violence.GB"


def test_an_unprompted_check_in_answer_is_understood() -> None:
    _, events = run(ACTIVE, "he didn't drink at all today")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["non_use"]


def test_lessons_follow_the_program_order_then_the_review_rotation() -> None:
    order = program().flows.order
    session = replace(ACTIVE, lesson_pos=len(order.lessons) - 1)
    session, events = step(program(), session, Trigger("lesson_due"), NOW)
    assert said(events) == [order.lessons[-1]]
    session, events = step(program(), session, Trigger("lesson_due"), NOW)
    assert said(events) == [order.maintenance[0]]
    _, events = run(session, "LESSON")
    assert said(events) == [order.maintenance[0]]  # today's lesson again, not a new one


def test_a_session_in_a_step_an_edit_removed_restarts_that_flow() -> None:
    session = at_checkin()
    flows = program().flows
    checkin = flows.flows["checkin"]
    edited = replace(
        checkin,
        steps=tuple(replace(s, id="question") if s.id == "ask" else s for s in checkin.steps),
    )
    edited_program = replace(
        program(), flows=FlowSet({**flows.flows, "checkin": edited}, flows.routing, flows.order)
    )
    after, events = step(edited_program, session, Message("1"), NOW)
    assert any(isinstance(e, ev.FlowReset) for e in events)
    assert said(events) == ["checkin.question"] and after.step == "question" and after.waiting


def test_a_session_in_a_flow_an_edit_removed_falls_back_safely() -> None:
    session = replace(at_checkin(), flow="old_flow", step="gone")
    after, events = step(program(), session, Message("hello"), NOW)
    assert any(isinstance(e, ev.FlowReset) for e in events)
    assert said(events) == ["system.fallback"] and after.flow is None


def test_the_same_inputs_give_the_same_result_and_state_survives_json() -> None:
    first = run(Session(), "hi", "yes", "Ana")
    second = run(Session(), "hi", "yes", "Ana")
    assert first == second
    assert Session.from_json(first[0].to_json()) == first[0]
