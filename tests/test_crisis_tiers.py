"""What the engine does in each tier: emergency, distress, mention; and the follow-up that
listens."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.engine import Message, Session, Trigger, step
from bot.engine import events as ev
from tests.test_engine import ACTIVE, NOW, at_checkin, program, run, said


def kinds(events: list[ev.Event]) -> set[type]:
    return {type(e) for e in events}


def paused(session: Session) -> bool:
    return session.paused_at(NOW + timedelta(hours=1))


# ---------------------------------------------------------------- emergency


def test_a_child_at_risk_gets_the_child_reply_first_and_the_alert_says_child() -> None:
    session, events = run(ACTIVE, "my toddler got into my purse and swallowed some of my pills")
    alert = next(e for e in events if isinstance(e, ev.CrisisDetected))
    assert (alert.category, alert.tier) == ("child", "emergency")
    assert "child/swallowed" in alert.explanation
    assert said(events) == ["crisis.child.US", "crisis.team_told"]
    assert paused(session)


def test_a_child_and_an_overdose_get_both_replies_child_first() -> None:
    _, events = run(ACTIVE, "the baby is alone with her dad and he isn't breathing")
    assert said(events)[:2] == ["crisis.child.US", "crisis.overdose.US"]


def test_a_crisis_inside_a_check_in_answer_is_a_crisis_and_the_answer_is_recorded() -> None:
    session, events = run(at_checkin(), "2, he drank and now he won't wake up")
    assert said(events)[0] == "crisis.overdose.US"
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["use"]
    assert session.flow is None


# ---------------------------------------------------------------- distress


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("he smashed the tv and punched a hole in the wall", "crisis.distress.rage.US"),
        ("i'm scared of him when he drinks", "crisis.distress.fear.US"),
        ("i can't cope with any of this", "crisis.distress.despair.US"),
    ],
)
def test_distress_gets_a_warm_reply_with_a_safety_line_and_no_pause(text: str, reply: str) -> None:
    session, events = run(ACTIVE, text)
    assert said(events) == [reply]
    assert [e.kind for e in events if isinstance(e, ev.Say)] == ["crisis"]  # goes at once
    noted = [e for e in events if isinstance(e, ev.DistressNoted)]
    assert noted and noted[0].text == text and noted[0].explanation.startswith("distress")
    assert not kinds(events) & {ev.CrisisDetected, ev.PauseChanged, ev.FollowupScheduled}
    assert not paused(session)


def test_distress_at_check_in_time_leaves_the_question_open_without_a_re_ask() -> None:
    session, events = run(at_checkin(), "i can't cope, he screamed at me all evening")
    assert said(events) == ["crisis.distress.despair.US"]
    assert session.waiting and session.reasks == 0
    session, events = run(session, "2")  # the check-in is still answerable
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["use"]


def test_distress_with_a_check_in_answer_records_it_after_the_distress_reply() -> None:
    _, events = run(at_checkin(), "2 and he punched the wall")
    assert said(events)[0] == "crisis.distress.rage.US"
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["use"]


def test_after_stop_distress_still_gets_its_safety_line_and_nothing_else() -> None:
    stopped, _ = run(ACTIVE, "STOP")
    session, events = run(stopped, "i can't cope anymore with his rages")
    assert said(events) == ["crisis.distress.despair.US"]
    assert session.status == "opted_out" and any(isinstance(e, ev.Ignored) for e in events)


def test_a_danger_that_is_over_and_cared_for_is_distress_not_an_emergency() -> None:
    session, events = run(ACTIVE, "he overdosed last night, he's in the hospital now and stable")
    assert said(events) == ["crisis.distress.after_overdose.US"]
    assert ev.CrisisDetected not in kinds(events) and not paused(session)


# ---------------------------------------------------------------- mention


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("where can i get naloxone?", "crisis.answer.naloxone_where.US"),
        ("can i keep the narcan in the car when it's hot out", "crisis.answer.naloxone_store.US"),
        ("how do you use narcan", "crisis.answer.naloxone_use.US"),
    ],
)
def test_a_mention_gets_a_helpful_answer_and_no_alarm(text: str, answer: str) -> None:
    session, events = run(ACTIVE, text)
    assert said(events) == [answer]
    assert not kinds(events) & {ev.CrisisDetected, ev.DistressNoted, ev.PauseChanged}
    assert not paused(session)


def test_a_mention_without_an_answer_goes_on_as_any_message() -> None:
    _, events = run(ACTIVE, "we did a 5k for suicide prevention on saturday")
    assert said(events) == ["system.fallback"]
    assert ev.CrisisDetected not in kinds(events)


def test_a_mention_inside_a_check_in_answer_is_just_the_answer() -> None:
    session, events = run(at_checkin(), "1, he's been sober since his overdose two years ago")
    assert [e.value for e in events if isinstance(e, ev.RecordCheckin)] == ["non_use"]
    assert not kinds(events) & {ev.CrisisDetected, ev.DistressNoted}
    assert not paused(session)


def test_homework_replies_never_pause_the_program() -> None:
    for text in (
        "found the pharmacy that has naloxone",
        "checked the expiry date on our narcan, good till 2027",
        "practiced the recovery position from the overdose lesson",
    ):
        session, events = run(ACTIVE, text)
        assert not kinds(events) & {ev.CrisisDetected, ev.DistressNoted, ev.PauseChanged}, text


# ---------------------------------------------------------------- the re-ask and reflections


def test_the_check_in_re_ask_carries_a_safety_line_and_free_text_is_reflected() -> None:
    session, events = run(at_checkin(), "ok")
    assert said(events) == ["checkin.reask.US"]
    session = at_checkin()
    _, events = run(session, "he came home at 2am and my husband blames me for all of it")
    assert said(events) == ["checkin.reflect.feelings.US"]
    uk = replace(ACTIVE, profile={**ACTIVE.profile, "country": "GB"})
    _, events = run(at_checkin(uk), "ok")
    assert said(events) == ["checkin.reask.GB"]


# ---------------------------------------------------------------- the follow-up listens


def at_followup() -> Session:
    session, _ = run(ACTIVE, "he's not breathing")
    session, events = step(program(), session, Trigger("followup_due"), NOW + timedelta(hours=4))
    assert said(events) == ["crisis.followup"]
    return session


@pytest.mark.parametrize(
    ("text", "replies", "alerted"),
    [
        ("we're ok now", ["crisis.followup_ok"], False),
        ("he's in the hospital. they saved him", ["crisis.followup_hospital.US"], False),
        ("i called 988 and talked to a counselor", ["crisis.followup_getting_help.US"], False),
        ("not great honestly", ["crisis.followup_not_ok.US", "crisis.team_told"], True),
        ("still scared he'll come back", ["crisis.followup_scared.US", "crisis.team_told"], True),
        (
            "he's in the hospital and i'm a mess",
            ["crisis.followup_not_ok.US", "crisis.team_told"],
            True,
        ),
    ],
)
def test_each_follow_up_answer_gets_its_own_reply(
    text: str, replies: list[str], alerted: bool
) -> None:
    _, events = run(at_followup(), text, now=NOW + timedelta(hours=5))
    assert said(events) == replies
    again = [e for e in events if isinstance(e, ev.CrisisDetected)]
    assert bool(again) == alerted
    if again:
        assert again[0].tier == "followup" and again[0].category == "crisis_followup"


def test_free_text_in_the_follow_up_is_reflected_and_asked_again() -> None:
    session, events = run(at_followup(), "it was a long night", now=NOW + timedelta(hours=5))
    assert said(events) == ["crisis.followup_reask.US"]
    session, events = run(
        session,
        "i keep going over what happened when i found him on the floor and called",
        now=NOW + timedelta(hours=5),
    )
    assert said(events) == ["followup.reflect.story.US"] and session.waiting


def test_new_danger_in_the_follow_up_is_a_new_emergency() -> None:
    _, events = run(at_followup(), "he's not breathing again", now=NOW + timedelta(hours=5))
    assert said(events)[0] == "crisis.overdose.US"
    assert any(isinstance(e, ev.CrisisDetected) and e.tier == "emergency" for e in events)


def test_without_staff_the_follow_up_never_says_a_person_knows() -> None:
    alone = replace(program(), crisis=replace(program().crisis, alerting=False))
    session, _ = step(alone, ACTIVE, Message("he's not breathing"), NOW)
    session, _ = step(alone, session, Trigger("followup_due"), NOW + timedelta(hours=4))
    _, events = step(alone, session, Message("not ok"), NOW + timedelta(hours=5))
    assert said(events) == ["crisis.followup_not_ok.US"]
    assert any(isinstance(e, ev.CrisisDetected) for e in events)  # the alert is still recorded
