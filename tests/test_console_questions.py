"""Questions in the console: the inbox, answering a family, saved answers, time to answer."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.console.stats import percentile
from bot.runtime.admin import Enrollment, enroll
from storage import models as m
from tests.console_rig import ADMIN, COACH, NEW_YORK, Rig, console_rig, post_form


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        rig.staff(COACH)
        rig.staff(ADMIN, "admin")
        yield rig


def enrolled(rig: Rig, address: str, name: str, relationship: str = "parent") -> int:
    request = Enrollment("sms", address, name, relationship, None, "America/New_York")
    return enroll(rig.app.ctx, request)


def only_question(rig: Rig) -> m.Question:
    with rig.app.ctx.db() as db:
        return db.scalars(select(m.Question)).one()


def audit(rig: Rig, action: str) -> list[tuple[str, str, str]]:
    with rig.app.ctx.db() as db:
        return [
            (e.staff_email, e.target_id, e.detail)
            for e in db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action))
        ]


def wait_for(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_coach_answers_a_question_and_the_family_gets_it_on_their_channel(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550181", "Ana")
    rig.family_writes("+12015550181", "ASK how do I say no to giving him money?", "SM-a1")
    question = only_question(rig)
    coach = rig.signed_in(COACH)
    # the inbox lists it as waiting, with how long
    rig.clock.now += timedelta(minutes=95)
    inbox = coach.get("/console/questions").text
    assert "1 waiting for an answer" in inbox
    assert "how do I say no to giving him money?" in inbox and "waiting 1 h 35 min" in inbox
    url = f"/console/questions/{question.id}"
    page = coach.get(url).text
    assert "They asked:" in page and "Ana" in page
    assert "question for a coach" in page  # the question in the conversation shown
    # the coach answers
    words = "Hi Ana, this is Sam. You can say: I love you, and I won't give money. Let's talk!"
    answer = post_form(coach, f"{url}/answer", {"text": words}, url)
    assert answer.status_code == 303 and answer.headers["location"] == f"{url}?done=sent"
    wait_for(lambda: any(d.text == words and d.address == "+12015550181" for d in rig.delivered))
    # recorded: the question, who answered, how long it took, the family's conversation, the log
    done = only_question(rig)
    assert (done.status, done.answered_by, done.answer) == ("answered", COACH, words)
    assert done.outbox_id is not None and done.answered_at is not None
    answered = coach.get(url).text
    assert f"Answered by {COACH}" in answered and "1 h 35 min after they asked" in answered
    assert "1 h 35 min" in coach.get("/console/questions").text
    family = coach.get(f"/console/families/{ana}").text
    assert "team answered" in family and "question for a coach" in family
    assert (COACH, str(question.id), f"family {ana}, outbox {done.outbox_id}") in audit(
        rig, "question.answer"
    )
    assert audit(rig, "question.view")[0][:2] == (COACH, str(question.id))


def test_a_question_is_answered_once_even_by_two_coaches(rig: Rig) -> None:
    enrolled(rig, "+12015550182", "Ben")
    rig.family_writes("+12015550182", "ASK what if he gets angry?", "SM-a2")
    url = f"/console/questions/{only_question(rig).id}"
    coach, admin = rig.signed_in(COACH), rig.signed_in(ADMIN)
    first_page, second_page = coach.get(url), admin.get(url)  # both opened it
    assert first_page.status_code == second_page.status_code == 200
    post_form(coach, f"{url}/answer", {"text": "First answer."}, url)
    late = post_form(admin, f"{url}/answer", {"text": "Second answer."}, url)
    assert late.headers["location"] == f"{url}?refused=settled"
    assert (
        "Someone else answered or closed this question first"
        in admin.get(late.headers["location"]).text
    )
    with rig.app.ctx.db() as db:
        texts = db.scalars(
            select(m.OutboundMessage.text).where(m.OutboundMessage.message_id == "staff.answer")
        ).all()
    assert texts == ["First answer."]


def test_an_answer_at_night_waits_for_the_end_of_quiet_hours(rig: Rig) -> None:
    enrolled(rig, "+12015550183", "Cleo")
    rig.clock.now = datetime(2026, 3, 2, 22, 30, tzinfo=NEW_YORK)  # quiet hours: 21:00-08:00
    rig.family_writes("+12015550183", "ASK can I still help him if he won't talk?", "SM-a3")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    answer = post_form(coach, f"{url}/answer", {"text": "Yes, you can. More tomorrow."}, url)
    assert answer.headers["location"] == f"{url}?done=held"
    assert "waits for the end of the family" in coach.get(answer.headers["location"]).text
    with rig.app.ctx.db() as db:
        row = db.scalars(
            select(m.OutboundMessage).where(m.OutboundMessage.message_id == "staff.answer")
        ).one()
    assert row.not_before == datetime(2026, 3, 3, 8, 0, tzinfo=NEW_YORK)
    assert row.kind == "normal"  # an everyday message until the outbox knows replies


def test_no_answer_goes_to_a_family_who_opted_out(rig: Rig) -> None:
    enrolled(rig, "+12015550184", "Dee")
    rig.family_writes("+12015550184", "ASK where are the meetings?", "SM-a4")
    rig.family_writes("+12015550184", "STOP", "SM-a5")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    assert "This family opted out" in coach.get(url).text
    refused = post_form(coach, f"{url}/answer", {"text": "Here they are."}, url)
    assert refused.headers["location"] == f"{url}?refused=opted_out"
    assert only_question(rig).status == "open"
    # it can still be closed, saying why
    closed = post_form(coach, f"{url}/close", {"note": "Opted out before we answered."}, url)
    assert closed.headers["location"] == f"{url}?done=closed"
    done = only_question(rig)
    assert (done.status, done.answer) == ("closed", "Opted out before we answered.")
    with rig.app.ctx.db() as db:
        assert not db.scalars(
            select(m.OutboundMessage).where(m.OutboundMessage.message_id == "staff.answer")
        ).all()


def test_a_saved_answer_is_offered_in_the_familys_own_words(rig: Rig) -> None:
    enrolled(rig, "+12015550185", "Eva", "partner")
    rig.family_writes("+12015550185", "ASK what is CRAFT exactly?", "SM-a6")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    page = coach.get(url).text
    assert '<option value="coach_answer.what_craft_is"' in page and "what craft is" in page
    chosen = coach.get(url, params={"use": "coach_answer.what_craft_is"}).text
    draft = re.search(r'<textarea name="text"[^>]*>([^<]*)</textarea>', chosen)
    assert draft is not None
    assert draft.group(1).startswith("Thanks for asking, Eva. CRAFT coaches you")
    assert "your partner" in draft.group(1)  # {loved_one} for a partner who gave no name
    # an unknown saved answer leaves the box empty rather than failing
    unknown = coach.get(url, params={"use": "coach_answer.nope"}).text
    assert re.search(r'<textarea name="text"[^>]*></textarea>', unknown)


def test_a_coach_sees_a_familys_language_and_the_words_they_were_told(rig: Rig) -> None:
    # given a mother enrolled in Spanish and a father in English, each with a question
    request = Enrollment("sms", "+12015550187", "Rosa", "parent", None, "America/New_York")
    enroll(rig.app.ctx, replace(request, locale="es"))
    enrolled(rig, "+12015550188", "Sam")
    rig.family_writes("+12015550187", "PREGUNTA ¿Qué es CRAFT?", "SM-a8")
    rig.family_writes("+12015550188", "ASK what is CRAFT?", "SM-a9")
    with rig.app.ctx.db() as db:
        rosa, sam = db.scalars(select(m.Question.id).order_by(m.Question.id)).all()
    coach = rig.signed_in(COACH)
    # then Rosa's page says she reads Spanish, quotes what she was told (the time in Spanish
    # words, ASK_ANSWER_WITHIN_ES), and offers the saved answers in her Spanish
    page = coach.get(f"/console/questions/{rosa}").text
    assert "They read <strong>es</strong>" in page
    # (as her SMS read it, without the accents that would have cost a segment)
    assert "They were told: “Gracias. Tu mensaje ya esta con el equipo de Family Support" in page
    assert "en un plazo de un dia" in page and "within a day" not in page
    chosen = coach.get(f"/console/questions/{rosa}", params={"use": "coach_answer.what_craft_is"})
    assert ">Gracias por preguntar, Rosa. CRAFT te acompa" in chosen.text
    # while Sam's says English and the time he was promised
    page = coach.get(f"/console/questions/{sam}").text
    assert "They read <strong>en</strong>" in page
    assert "a person will answer you here within a day" in page
    # and the inbox says the time each language's reply names
    inbox = coach.get("/console/questions").text
    assert "en: “within a day”, es: “en un plazo de un día”" in inbox


def test_an_empty_answer_sends_nothing(rig: Rig) -> None:
    enrolled(rig, "+12015550186", "Fay")
    rig.family_writes("+12015550186", "ASK hello?", "SM-a7")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    refused = post_form(coach, f"{url}/answer", {"text": "   "}, url)
    assert refused.headers["location"] == f"{url}?refused=empty"
    assert only_question(rig).status == "open"
    assert coach.get("/console/questions/9999").status_code == 404


def test_stats_report_questions_and_the_time_to_answer_them(rig: Rig) -> None:
    # given four questions this week answered after 1, 2, 3 and 10 hours, and one still open
    for n in range(5):
        enrolled(rig, f"+1201555019{n}", f"Family{n}")
        rig.family_writes(f"+1201555019{n}", f"ASK question {n}?", f"SM-s{n}")
    coach = rig.signed_in(COACH)
    with rig.app.ctx.db() as db:
        ids = db.scalars(select(m.Question.id).order_by(m.Question.id)).all()
    asked_at = rig.clock.now
    for question_id, hours in zip(ids, (1, 2, 3, 10, None), strict=True):
        if hours is None:
            continue
        rig.clock.now = asked_at + timedelta(hours=hours)
        url = f"/console/questions/{question_id}"
        post_form(coach, f"{url}/answer", {"text": f"An answer after {hours} h."}, url)
    page = coach.get("/console/stats").text
    section = page[page.index('id="chart-questions"') : page.index('id="chart-answer_time"')]
    assert "answered" in section and "still open" in section
    times = page[page.index('id="chart-answer_time"') :]
    # the figures' table: this week's median (2.5 h) and 90th percentile (10 h)
    assert re.search(r"<td>2\.5</td><td>10\.0</td>", times), times[:2000]
    assert percentile([1, 2, 3, 10], 0.9) == 10 and percentile([1, 2, 3, 10], 0.5) == 2
    assert "<td>4.0</td><td>0.0</td><td>1.0</td>" in section  # answered, closed, still open
    # the figures are worked out at most every 5 minutes: the last answer shows after that
    url = f"/console/questions/{ids[-1]}"
    post_form(coach, f"{url}/answer", {"text": "At last."}, url)
    rig.clock.now += timedelta(minutes=1)
    assert "<td>4.0</td><td>0.0</td><td>1.0</td>" in coach.get("/console/stats").text
    rig.clock.now += timedelta(minutes=5)
    assert "<td>5.0</td><td>0.0</td><td>0.0</td>" in coach.get("/console/stats").text


def test_an_answer_sent_after_the_sign_in_ended_is_kept_for_the_coach(rig: Rig) -> None:
    """A coach writes an answer for a long while; the sign-in (12 hours) ends before they press
    Send. The page says what happened, shows the words they wrote, and signing in again leads
    back to the question (it was a bare 'sign in first', and Back re-asked for the page: the
    words were lost)."""
    enrolled(rig, "+12015550187", "Gus")
    rig.family_writes("+12015550187", "ASK should I hide the car keys?", "SM-a9")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    page = coach.get(url)
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token
    rig.clock.now += timedelta(hours=13)
    words = "Hi Gus, it's Sam. Keeping keys out of reach on a using day is a safety step."
    late = coach.post(
        f"{url}/answer",
        data={"text": words, "csrftoken": token.group(1)},
        headers={"referer": f"{rig.url}{url}"},
    )
    assert late.status_code == 401
    assert "sign-in ended" in late.text and "nothing was sent" in late.text.lower()
    assert words in html.unescape(late.text)  # to copy before signing in again
    assert 'name="next" value="/questions/' in late.text
    assert only_question(rig).status == "open"
    again = post_form(
        coach,
        "/console/login",
        {"email": COACH, "password": "correct horse battery", "next": url.removeprefix("/console")},
    )
    assert again.headers["location"] == url


def test_every_time_on_a_question_page_names_its_zone(rig: Rig) -> None:
    """The question's header said "asked Mon 02 Mar 15:00 UTC" and the conversation under it
    "Mon 02 Mar 10:00" for the same moment, in the family's zone without saying so."""
    enrolled(rig, "+12015550188", "Hal")
    rig.family_writes("+12015550188", "ASK how do I stay calm?", "SM-a10")
    coach = rig.signed_in(COACH)
    page = coach.get(f"/console/questions/{only_question(rig).id}").text
    shown = re.findall(r"\w{3} \d\d \w{3} \d\d:\d\d(?: [A-Z]{3,4})?", page)
    assert shown and all(re.search(r" (UTC|EST|EDT)$", s) for s in shown), shown
    assert "Mon 02 Mar 10:00 EST" in page  # the family's own clock, said as such


def test_an_answer_sent_twice_from_one_form_is_answered_as_sent(rig: Rig) -> None:
    """A second tap on "Send the answer" told the coach 'Someone else answered or closed this
    question first: nothing was sent' about their own answer, which had gone."""
    enrolled(rig, "+12015550189", "Ivy")
    rig.family_writes("+12015550189", "ASK can I still go out with friends?", "SM-a11")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    form = re.search(rf'action="{url}/answer"[^>]*>(.*?)</form>', coach.get(url).text, re.S)
    assert form
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))
    fields["text"] = "Yes, Ivy: time with friends is part of looking after yourself."
    first, second = (
        coach.post(f"{url}/answer", data=fields),
        coach.post(f"{url}/answer", data=fields),
    )
    assert first.headers["location"] == second.headers["location"] == f"{url}?done=sent"


def test_answering_a_family_removed_meanwhile_says_so(rig: Rig) -> None:
    """A coach has the question open; an admin erases the family; the coach sends. The answer
    page was a bare 'no such question' (the refusal written for this was never shown)."""
    family = enrolled(rig, "+12015550186", "Joy")
    rig.family_writes("+12015550186", "ASK what do I say to his mother?", "SM-a12")
    url = f"/console/questions/{only_question(rig).id}"
    coach = rig.signed_in(COACH)
    coach.get(url)
    assert rig.app.runtime.erase_family(family, "staff")
    answer = post_form(coach, f"{url}/answer", {"text": "Hi Joy, it's Sam."}, "/console/alerts")
    assert answer.status_code == 303
    page = coach.get(answer.headers["location"])
    assert page.status_code == 404
    assert "This question is gone: the family was removed." in page.text
    assert 'href="/console/questions"' in page.text  # a way back, in the console's own page
    alert = coach.get("/console/alerts/999")
    assert alert.status_code == 404 and 'href="/console/alerts"' in alert.text
