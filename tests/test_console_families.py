"""Families and alerts in the console: what a coach sees, and what their buttons really do."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime.admin import Enrollment, enroll
from storage import models as m
from tests.console_rig import ADMIN, COACH, Rig, console_rig, post_form

OVERDOSE = "she took too many pills and won't wake up"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        rig.staff(COACH)
        rig.staff(ADMIN, "admin")
        yield rig


def enrolled(rig: Rig, address: str, name: str) -> int:
    request = Enrollment("sms", address, name, "parent", None, "America/New_York")
    return enroll(rig.app.ctx, request)


def lessons_sent(rig: Rig, contact_id: int) -> int:
    lessons = rig.app.ctx.program.current.program.flows.order.lessons
    with rig.app.ctx.db() as db:
        return (
            db.scalar(
                select(func.count())
                .select_from(m.OutboundMessage)
                .where(
                    m.OutboundMessage.contact_id == contact_id,
                    m.OutboundMessage.message_id.in_(lessons),
                )
            )
            or 0
        )


def audit(rig: Rig, action: str) -> list[tuple[str, str, str]]:
    with rig.app.ctx.db() as db:
        return [
            (e.staff_email, e.target_id, e.detail)
            for e in db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action))
        ]


def test_search_and_a_family_page_with_the_whole_conversation(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550131", "Ana")
    enrolled(rig, "+12015550132", "Ben")
    rig.family_writes("+12015550131", "no, he didn't drink today", "SM-f1")
    coach = rig.signed_in(COACH)
    # search by name, by part of the number, and by family number
    for text in ("ana", "0131", f"#{ana}"):
        page = coach.get("/console/families", params={"q": text})
        assert f"/console/families/{ana}" in page.text and "Ben" not in page.text, text
    page = coach.get(f"/console/families/{ana}")
    assert page.status_code == 200
    for shown in (
        "Ana",
        "+12015550131",
        "America/New_York",
        "parent",
        "admin_enroll",
        "no, he didn&#39;t drink today",
        "family wrote",
        "sent",
    ):
        assert shown in page.text, shown
    # the coach's look at Ana's conversation is in the audit log, and so is the search
    assert (COACH, str(ana), "") in audit(rig, "family.view")
    assert (COACH, "", "ana") in audit(rig, "family.search")


def test_a_familys_profile_and_timeline_show_where_they_are_and_what_happened(rig: Rig) -> None:
    # given a family enrolled in Spanish who got their first lesson and answered a check-in
    request = Enrollment("sms", "+12015550138", "Rosa", "parent", "Luis", "America/New_York")
    rosa = enroll(rig.app.ctx, replace(request, locale="es"))
    coach = rig.signed_in(COACH)
    page = f"/console/families/{rosa}"
    assert "joined; first lesson not yet sent" in coach.get(page).text
    rig.clock.now += timedelta(days=1)  # 10:00 the next day: the 9:00 lesson is due
    rig.app.runtime.fire_due(rig.clock.now)
    rig.dispatch()
    rig.clock.now += timedelta(hours=9, minutes=5)  # 19:05: the check-in question is due
    rig.app.runtime.fire_due(rig.clock.now)
    rig.dispatch()
    rig.family_writes("+12015550138", "1", "SM-f6")
    coach = rig.signed_in(COACH)  # a sign-in lasts 12 hours
    profile = coach.get(page).text
    # then the profile says where they are in the six weeks, their country and language
    lessons = len(rig.app.ctx.program.current.program.flows.order.lessons)
    assert f"week 1, lesson 1 of {lessons}" in profile
    assert "<dt>Country, language</dt><dd>US, es</dd>" in profile
    assert "parent of Luis" in profile and "lessons 09:00, check-ins 19:00" in profile
    # and the timeline has the lesson with its delivery status, the check-in and its answer
    timeline = re.search(r'<ol class="timeline">.*?</ol>', profile, re.S)
    assert timeline is not None
    read = " ".join(re.sub(r"<[^>]+>", " ", timeline.group(0)).split())
    assert re.search(r"lesson (sent|delivered) \w+", read), read
    assert "check-in a non-use day" in read, read


def test_pause_holds_the_lessons_and_resume_brings_them_back(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550133", "Ana")
    coach = rig.signed_in(COACH)
    page = f"/console/families/{ana}"
    answer = post_form(coach, f"{page}/pause", {}, page)
    assert answer.headers["location"] == f"{page}?done=paused"
    assert "paused until someone resumes" in coach.get(page).text
    # the next morning's lesson does not go
    rig.clock.now += timedelta(days=1)
    rig.app.runtime.fire_due(rig.clock.now)
    assert lessons_sent(rig, ana) == 0
    # a day later the coach signs in again (a sign-in lasts 12 hours)
    assert coach.get(page).status_code == 303
    coach = rig.signed_in(COACH)
    # a second pause changes nothing; resume does
    again = post_form(coach, f"{page}/pause", {}, page)
    assert again.headers["location"].endswith("done=already_paused")
    post_form(coach, f"{page}/resume", {}, page)
    rig.clock.now += timedelta(days=1)
    rig.app.runtime.fire_due(rig.clock.now)
    assert lessons_sent(rig, ana) == 1
    assert [a[0] for a in audit(rig, "family.pause")] == [COACH]
    assert [a[0] for a in audit(rig, "family.resume")] == [COACH]


def test_stop_opts_the_family_out_in_their_consent_history(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550134", "Ana")
    coach = rig.signed_in(COACH)
    page = f"/console/families/{ana}"
    post_form(coach, f"{page}/stop", {}, page)
    with rig.app.ctx.db() as db:
        contact = db.get(m.Contact, ana)
        assert contact is not None and contact.status == "opted_out"
        last = db.scalars(select(m.Consent).where(m.Consent.contact_id == ana)).all()[-1]
        assert (last.action, last.by, last.given) == ("opt_out", "admin", False)
    rig.clock.now += timedelta(days=1)
    rig.app.runtime.fire_due(rig.clock.now)
    assert lessons_sent(rig, ana) == 0


def test_only_an_admin_removes_a_family_and_only_after_typing_its_number(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550135", "Ana")
    rig.family_writes("+12015550135", "hello", "SM-f2")
    page = f"/console/families/{ana}"
    coach, admin = rig.signed_in(COACH), rig.signed_in(ADMIN)
    assert post_form(coach, f"{page}/remove", {"confirm": str(ana)}, page).status_code == 403
    unconfirmed = post_form(admin, f"{page}/remove", {"confirm": "yes"}, page)
    assert unconfirmed.status_code == 400 and "Nothing was removed" in unconfirmed.text
    assert admin.get(page).status_code == 200
    done = post_form(admin, f"{page}/remove", {"confirm": str(ana)}, page)
    assert done.status_code == 303
    gone = admin.get(done.headers["location"])
    assert gone.status_code == 404 and "erased" in gone.text
    # told as the success it is, not in the red of an error
    assert re.search(r'<p class="done">The family and everything recorded about them', gone.text)
    with rig.app.ctx.db() as db:
        for model in (m.Contact, m.InboundMessage, m.Consent):
            assert not db.scalar(select(func.count()).select_from(model)), model
    # the audit keeps who and which number, nothing that names the family
    assert audit(rig, "family.remove") == [(ADMIN, str(ana), "sms")]


def test_an_alert_is_listed_with_its_conversation_and_worked_to_closed(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550136", "Ana")
    rig.family_writes("+12015550136", OVERDOSE, "SM-f3")
    coach = rig.signed_in(COACH)
    page = coach.get("/console/alerts")
    assert "overdose · Ana" in page.text and "urgent" in page.text
    assert "won&#39;t wake up" in page.text and "Call 911" in page.text  # the reply sent
    alert_id = _only_alert(rig)
    url = f"/console/alerts/{alert_id}"
    assert post_form(coach, f"{url}/acknowledge", {}, url).status_code == 303
    assert f"Acknowledged by {COACH}" in coach.get(url).text
    post_form(coach, f"{url}/note", {"note": "Called her; ambulance came."}, url)
    post_form(coach, f"{url}/close", {"note": "She is safe at the hospital."}, url)
    closed = coach.get(url).text
    assert f"Closed by {COACH}" in closed
    assert "Called her; ambulance came." in closed and "She is safe at the hospital." in closed
    assert audit(rig, "alert.view")[0][:2] == (COACH, str(alert_id))
    del ana


def test_open_alerts_come_first_most_urgent_and_oldest_at_the_top(rig: Rig) -> None:
    for n, text in enumerate(("I want to kill myself", OVERDOSE, "he hit me")):
        enrolled(rig, f"+1201555014{n}", f"Family{n}")
        rig.clock.now += timedelta(minutes=5)
        rig.family_writes(f"+1201555014{n}", text, f"SM-o{n}")
    admin = rig.signed_in(ADMIN)
    first = _only_alert(rig, "suicide")
    post_form(admin, f"/console/alerts/{first}/acknowledge", {}, "/console/alerts")
    page = admin.get("/console/alerts").text
    order = [
        page.index(f"{c} · Family{n}")
        for n, c in ((1, "overdose"), (2, "violence"), (0, "suicide"))
    ]
    assert order == sorted(order)


def test_reach_the_family_sends_on_their_channel_but_never_after_an_opt_out(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550137", "Ana")
    rig.family_writes("+12015550137", OVERDOSE, "SM-f4")
    alert_id = _only_alert(rig)
    coach, url = rig.signed_in(COACH), f"/console/alerts/{_only_alert(rig)}"
    words = "This is Sam from the team. Are you both safe? Call us at 555-0100."
    answer = post_form(coach, f"{url}/reach", {"text": words}, url)
    assert answer.headers["location"] == f"{url}?done=queued"
    _wait_for(lambda: any(d.text == words and d.address == "+12015550137" for d in rig.delivered))
    assert "team wrote" in coach.get(f"/console/families/{ana}").text
    # after STOP, nothing goes
    rig.family_writes("+12015550137", "STOP", "SM-f5")
    refused = post_form(coach, f"{url}/reach", {"text": "Still there?"}, url)
    assert refused.status_code == 409 and "opted out" in refused.text
    with rig.app.ctx.db() as db:
        assert not db.scalars(
            select(m.OutboundMessage).where(m.OutboundMessage.text == "Still there?")
        ).all()
    del alert_id


def _only_alert(rig: Rig, category: str | None = None) -> int:
    with rig.app.ctx.db() as db:
        query = select(m.Alert.id)
        if category:
            query = query.where(m.Alert.category == category)
        return db.scalars(query).one()


def _wait_for(check: object, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_audit_log_shows_an_admin_who_opened_which_familys_conversation(rig: Rig) -> None:
    ana = enrolled(rig, "+12015550139", "Ana")
    coach = rig.signed_in(COACH)
    coach.get(f"/console/families/{ana}")
    post_form(coach, f"/console/families/{ana}/pause", {}, "/console/alerts")
    # a coach may not read the log; an admin reads who did what, to which family, newest first
    assert coach.get("/console/audit").status_code == 403
    admin = rig.signed_in(ADMIN)
    page = admin.get("/console/audit", params={"action": "family."})
    assert page.status_code == 200
    rows = re.findall(r"<tr><td[^>]*>.*?</tr>", page.text, re.S)
    read = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert [r.split(" UTC ")[1] for r in read] == [
        f"{COACH} family.pause family #{ana} 127.0.0.1",
        f"{COACH} family.view family #{ana} 127.0.0.1",
    ]
    assert f'href="/console/families/{ana}"' in page.text
    # the filter keeps to the actions asked for: the sign-ins are there without it
    assert "login" not in page.text and "login" in admin.get("/console/audit").text


def test_an_admin_exports_a_familys_data_and_a_discreet_family_is_marked(rig: Rig) -> None:
    # given a family who joined by text in discreet mode, calling their loved one "Sam"
    for n, text in enumerate(("hi", "yes", "Ana", "1", "yes", "Sam", "eastern", "9am", "7pm")):
        ana = rig.family_writes("+12015550139", text, f"SM-d{n}")
    page = f"/console/families/{ana}"
    coach, admin = rig.signed_in(COACH), rig.signed_in(ADMIN)
    # then their page tells the team, so a person answering writes the word and not a name
    shown = coach.get(page).text
    assert "Discreet mode</dt><dd><strong>on</strong>" in shown and "“Sam”" in shown
    # and only an admin exports their data: the file MYDATA gives, kept in the audit log
    assert coach.get(f"{page}/export").status_code == 403
    got = admin.get(f"{page}/export")
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    assert "attachment" in got.headers["content-disposition"]
    assert got.json()["answers"]["cover_word"] == "Sam"
    assert audit(rig, "family.export") == [(ADMIN, str(ana), "")]
    # and removing them keeps only the address's hashed opt-out
    assert post_form(admin, f"{page}/remove", {"confirm": str(ana)}, page).status_code == 303
    with rig.app.ctx.db() as db:
        kept = db.execute(select(m.ErasedAddress.channel, m.ErasedAddress.by)).all()
    assert [tuple(k) for k in kept] == [("sms", "staff")]


def test_an_opted_out_family_cannot_be_paused_or_resumed(rig: Rig) -> None:
    """A coach whose page was open when the family texted STOP clicks Pause: the page must not
    say "Paused ... the family can text RESUME" about a family who gets nothing from us."""
    bea = enrolled(rig, "+12015550139", "Bea")
    rig.family_writes("+12015550139", "STOP", "SM-f9")
    coach = rig.signed_in(COACH)
    page = f"/console/families/{bea}"
    for action in ("pause", "resume"):
        answer = post_form(coach, f"{page}/{action}", {}, page)
        assert answer.headers["location"] == f"{page}?done=opted_out", action
        shown = coach.get(answer.headers["location"]).text
        assert "opted out" in shown and "Paused:" not in shown and "Resumed:" not in shown
    assert "paused" not in coach.get(page).text.split("Consent history")[0]
    assert audit(rig, "family.pause") == [] and audit(rig, "family.resume") == []


def test_search_finds_a_number_as_a_person_types_it_and_a_name_with_its_accent(rig: Rig) -> None:
    """A family member on the phone gives their number as people say it, "(201) 555-0138"; a coach
    types "Lucía" for a family member whose name came by SMS as "Lucia". Both found nothing."""
    ana = enrolled(rig, "+12015550138", "Ana")
    lucia = enrolled(rig, "+12015550137", "Lucia")
    coach = rig.signed_in(COACH)
    for text, family in (
        ("(201) 555-0138", ana),
        ("+1 201 555 0138", ana),
        ("201.555.0138", ana),
        ("555-0137", lucia),
        ("Lucía", lucia),
    ):
        page = coach.get("/console/families", params={"q": text}).text
        found = set(re.findall(r'href="/console/families/(\d+)"', page))
        assert found == {str(family)}, (text, found)


def test_a_family_on_the_treatment_track_shows_where_they_are_on_it(rig: Rig) -> None:
    """The program has three tracks now and seven weeks on the first: a family moved to the
    treatment track showed the first track's place ("week 2, lesson 10 of 49"), the treatment
    lessons they got were tagged "bot", and the lessons page read "the six weeks"."""
    from bot.engine.session import Session

    ana = enrolled(rig, "+12015550136", "Ana")
    order = rig.app.ctx.program.current.program.flows.order
    treatment = order.tracks["treatment"]
    with rig.app.ctx.db.begin() as db:
        contact = db.get(m.Contact, ana)
        assert contact is not None
        session = Session.from_json(contact.session)
        contact.session = session.with_(
            onboarded=True,
            lesson_pos=10,
            profile={**session.profile, "track": "treatment"},
            pools={**session.pools, "track.treatment": 3},
        ).to_json()
    coach = rig.signed_in(COACH)
    page = coach.get(f"/console/families/{ana}").text
    stage = re.search(r"<dt>Stage</dt><dd>(.*?)</dd>", page)
    assert stage and stage.group(1) == f"treatment track: lesson 3 of {len(treatment)}", stage
    lessons = coach.get("/console/program/lessons", params={"track": "treatment"}).text
    assert "six weeks" not in lessons
    assert treatment[0] in lessons and order.lessons[0] not in lessons
    first = coach.get("/console/program/lessons").text
    weeks = -(-len(order.lessons) // 7)
    assert f"The {weeks} weeks of lessons" in first and f"Week {weeks}" in first


def test_an_alert_shows_the_number_to_call_the_family_on(rig: Rig) -> None:
    """The alert's page says "for danger now, call them": on a phone the number is one tap
    away (it was only on the family's page, a click further)."""
    enrolled(rig, "+12015550135", "Ana")
    rig.family_writes("+12015550135", OVERDOSE, "SM-f10")
    coach = rig.signed_in(COACH)
    page = coach.get(f"/console/alerts/{_only_alert(rig)}").text
    assert 'href="tel:+12015550135"' in page
    card = coach.get("/console/alerts").text
    assert 'href="tel:+12015550135"' in card


def _form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form posting to `action`, as a browser sends them."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, action
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def test_a_message_to_the_family_sent_twice_from_one_form_goes_once(rig: Rig) -> None:
    """A coach taps "Send to the family" twice on a slow phone, or reloads the page the send
    answered: the browser posts the form again. The family got the message twice (notes too)."""
    enrolled(rig, "+12015550134", "Ana")
    rig.family_writes("+12015550134", OVERDOSE, "SM-f11")
    coach, url = rig.signed_in(COACH), f"/console/alerts/{_only_alert(rig)}"
    page = coach.get(url).text
    words = "This is Sam from the team. Are you both safe? Call us at 555-0100."
    for action, data in ((f"{url}/reach", {"text": words}), (f"{url}/note", {"note": "Called."})):
        fields = {**_form_fields(page, action), **data}
        first, second = coach.post(action, data=fields), coach.post(action, data=fields)
        assert first.status_code == second.status_code == 303
        assert second.headers["location"] == first.headers["location"]
    with rig.app.ctx.db() as db:
        sent = db.scalars(
            select(m.OutboundMessage.id).where(m.OutboundMessage.message_id == "staff.message")
        )
        assert len(sent.all()) == 1
    assert len(audit(rig, "alert.note")) == 1
    # a new page is a new form: the coach can send the same words again on purpose
    again = {**_form_fields(coach.get(url).text, f"{url}/reach"), "text": words}
    assert coach.post(f"{url}/reach", data=again).headers["location"].endswith("done=queued")
    with rig.app.ctx.db() as db:
        sent = db.scalars(
            select(m.OutboundMessage.id).where(m.OutboundMessage.message_id == "staff.message")
        )
        assert len(sent.all()) == 2


def test_writing_to_a_discreet_family_from_an_alert_or_a_question_says_so(rig: Rig) -> None:
    """Someone else may read this family's phone: their profile says to write "Sam", never a name,
    and nothing about use in the first line. The two pages where a coach writes to them, an
    alert's "Reach the family" and a question's answer, did not say it."""
    for n, text in enumerate(("hi", "yes", "Ana", "1", "yes", "Sam", "eastern", "9am", "7pm")):
        rig.family_writes("+12015550133", text, f"SM-e{n}")
    rig.family_writes("+12015550133", "ASK how do I talk to Sam about it?", "SM-e10")
    rig.family_writes("+12015550133", OVERDOSE, "SM-e11")
    coach = rig.signed_in(COACH)
    with rig.app.ctx.db() as db:
        question = db.scalars(select(m.Question.id)).one()
    for url in (f"/console/alerts/{_only_alert(rig)}", f"/console/questions/{question}"):
        page = coach.get(url).text
        assert "Discreet mode is on" in page and "“Sam”" in page, url


def test_acknowledging_or_closing_twice_from_one_form_reads_as_done(rig: Rig) -> None:
    """A second tap on "Acknowledge" told the coach "Nothing changed: the alert was already past
    that step" about their own acknowledgement."""
    enrolled(rig, "+12015550132", "Ana")
    rig.family_writes("+12015550132", OVERDOSE, "SM-f12")
    coach, url = rig.signed_in(COACH), f"/console/alerts/{_only_alert(rig)}"
    for action, done in (("acknowledge", "acknowledged"), ("close", "closed")):
        fields = _form_fields(coach.get(url).text, f"{url}/{action}")
        answers = [coach.post(f"{url}/{action}", data=fields) for _ in range(2)]
        assert [a.headers["location"] for a in answers] == [f"{url}?done={done}"] * 2, action


def test_an_erased_familys_numbers_are_never_given_to_another(rig: Rig) -> None:
    """SQLite gives a new row the highest id plus one: erasing the newest family made the next
    family to text "family #5" again, so the audit log's "family.remove family #5" linked to a
    stranger, and an on-call phone's late "ACK 2" for the erased family's alert acknowledged
    the next family's crisis (and stopped its escalation)."""
    ana = enrolled(rig, "+12015550131", "Ana")
    rig.family_writes("+12015550131", "ASK who do I call?", "SM-g1")
    rig.family_writes("+12015550131", OVERDOSE, "SM-g2")
    with rig.app.ctx.db() as db:
        old_question = db.scalars(select(m.Question.id)).one()
    old_alert = _only_alert(rig)
    assert rig.app.runtime.erase_family(ana, "staff")
    ben = enrolled(rig, "+12015550132", "Ben")
    rig.family_writes("+12015550132", "ASK who do I call?", "SM-g3")
    rig.family_writes("+12015550132", OVERDOSE, "SM-g4")
    with rig.app.ctx.db() as db:
        new_question = db.scalars(select(m.Question.id)).one()
    assert ben != ana
    assert _only_alert(rig) != old_alert and new_question != old_question
