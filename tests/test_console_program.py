"""The program page (diagrams, checks, lessons, reload), the stats page and the web chat."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime.admin import Enrollment, enroll
from bot.settings import REPO_ROOT
from storage import models as m
from tests.console_rig import ADMIN, COACH, START, Rig, console_rig, post_form


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    """A copy of the program that a test may break."""
    folder = tmp_path / "program"
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, folder / part)
    return folder


@pytest.fixture
def rig(tmp_path: Path, program_dir: Path) -> Iterator[Rig]:
    with console_rig(tmp_path, CRAFTBOT_PROGRAM_DIR=program_dir) as rig:
        assert rig.app.ctx.program.files.flows_dir == program_dir / "flows"
        rig.staff(COACH)
        rig.staff(ADMIN, "admin")
        yield rig


def test_each_flow_has_a_diagram_page(rig: Rig) -> None:
    coach = rig.signed_in(COACH)
    program = coach.get("/console/program")
    assert "passes the checks" in program.text
    flows = re.findall(r'href="/console/program/flows/(\w+)"', program.text)
    assert {"onboarding", "checkin", "crisis_followup"} <= set(flows)
    page = coach.get("/console/program/flows/checkin")
    assert 'class="mermaid"' in page.text and "flowchart TD" in page.text
    # Mermaid is served by the console itself
    script = re.search(r'<script src="(/console/static/vendor/mermaid[^"]+)"', page.text)
    assert script and coach.get(script.group(1)).status_code == 200
    assert coach.get("/console/program/flows/nope").status_code == 404


def test_a_broken_edit_is_shown_with_its_line_and_reload_keeps_the_working_program(
    rig: Rig, program_dir: Path
) -> None:
    daily = program_dir / "flows" / "daily.yaml"
    good = daily.read_text()
    daily.write_text(good.replace("checkin:", "checkin:\n  stepz: [", 1))
    coach, admin = rig.signed_in(COACH), rig.signed_in(ADMIN)
    page = coach.get("/console/program").text
    assert re.search(r"daily\.yaml:\d+:\d+", page), "the problem names its file and line"
    # a coach may not reload; an admin may, and a broken program is refused
    assert post_form(coach, "/console/program/reload", {}, "/console/program").status_code == 403
    before = rig.app.ctx.program.current
    refused = post_form(admin, "/console/program/reload", {}, "/console/program")
    assert refused.status_code == 409 and "Not reloaded" in refused.text
    assert rig.app.ctx.program.current is before
    # fixed, it applies
    daily.write_text(good.replace("The evening question", "The evening's question", 1))
    applied = post_form(admin, "/console/program/reload", {}, "/console/program")
    assert applied.status_code == 200 and "Reloaded" in applied.text
    now = rig.app.ctx.program.current.program.flows.flows["checkin"].description
    assert now.startswith("The evening's question")
    with rig.app.ctx.db() as db:
        verdicts = db.scalars(
            select(m.AuditEntry.detail).where(m.AuditEntry.action == "program.reload")
        ).all()
    assert [v.split(";")[0] for v in verdicts] == ["refused", "applied"]


def test_lessons_read_as_each_relationship_would(rig: Rig) -> None:
    coach = rig.signed_in(COACH)
    parent = coach.get("/console/program/lessons", params={"relationship": "parent"}).text
    partner = coach.get("/console/program/lessons", params={"relationship": "partner"}).text
    lessons = rig.app.ctx.program.current.program.flows.order.lessons
    assert parent.count('<article class="lesson">') == len(lessons) >= 42
    assert "Week 6" in parent and "your child" in parent and "your partner" in partner


def test_stats_are_weekly_aggregates_that_name_no_family(rig: Rig) -> None:
    ctx = rig.app.ctx
    ids = [
        enroll(ctx, Enrollment("sms", f"+1201555015{n}", f"Secretname{n}", "parent"))
        for n in range(3)
    ]
    day = START.date()
    with ctx.db.begin() as db:
        for n, contact_id in enumerate(ids):  # three check-ins asked, two answered
            db.add(m.Delivery(contact_id=contact_id, kind="checkin", local_date=day, at=START))
            if n < 2:
                value = ("use", "non_use")[n]
                db.add(m.Checkin(contact_id=contact_id, value=value, local_date=day, at=START))
    page = rig.signed_in(COACH).get("/console/stats").text
    week = f"{day - timedelta(days=day.weekday()):%d %b}"
    response = re.search(r'id="chart-response".*?</section>', page, re.S)
    assert response and f"<td>{week}</td><td>66.7%</td>" in response.group(0)
    assert "62-68%" in page and "54%" in page
    joined = re.search(r'id="chart-families".*?</section>', page, re.S)
    assert joined and f"<td>{week}</td><td>3.0</td>" in joined.group(0)
    assert "Secretname" not in page and "+1201555015" not in page
    assert 'id="chart-questions"' in page and 'id="chart-answer_time"' in page
    assert page.count("<svg") >= 9


def test_stats_show_how_much_each_lesson_helped_and_how_families_are_doing(rig: Rig) -> None:
    ctx = rig.app.ctx
    ids = [enroll(ctx, Enrollment("sms", f"+1201555016{n}", "Ana", "parent")) for n in range(2)]
    day = START.date()
    with ctx.db.begin() as db:
        for contact_id, (helped, own) in zip(ids, (("5", "2"), ("4", "3")), strict=True):
            for question, value, lesson in (
                ("lesson_rating", helped, "lesson.be_specific"),
                ("lesson_rating", "1", "lesson.triggers"),
                ("wellbeing", own, None),
            ):
                db.add(
                    m.ProgramAnswer(
                        contact_id=contact_id,
                        question=question,
                        value=value,
                        lesson=lesson,
                        local_date=day,
                        at=START,
                    )
                )
    page = rig.signed_in(COACH).get("/console/stats").text
    ratings = re.search(r'id="chart-lesson_ratings".*?</section>', page, re.S)
    assert ratings, "the lesson ratings chart"
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", ratings.group(0))
    assert rows == [("lesson.triggers (2)", "1.0"), ("lesson.be_specific (2)", "4.5")]
    week = f"{day - timedelta(days=day.weekday()):%d %b}"
    wellbeing = re.search(r'id="chart-wellbeing".*?</section>', page, re.S)
    assert wellbeing and f"<td>{week}</td><td>2.5</td>" in wellbeing.group(0)


def test_the_web_chat_drives_the_real_engine_on_a_database_of_its_own(rig: Rig) -> None:
    coach = rig.signed_in(COACH)
    started = post_form(
        coach,
        "/console/chat/start",
        {"channel": "sms", "zone": "America/New_York"},
        "/console/chat",
    )
    assert started.status_code == 303
    for text in ("hi", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm"):  # joining, as a parent
        post_form(coach, "/console/chat/say", {"text": text}, "/console/chat")
    chat = coach.get("/console/chat").text
    assert "YES to join" in chat and "(America/New_York)" in chat
    # clock travel: the next lesson comes at 9am in the family's zone
    post_form(coach, "/console/chat/say", {"jump": "lesson"}, "/console/chat")
    chat = coach.get("/console/chat").text
    assert "moved to the next lesson" in chat and re.search(r"\w{3} 09:0\d</span>", chat)
    post_form(coach, "/console/chat/say", {"wait": "1d"}, "/console/chat")
    assert "1 day(s) later" in coach.get("/console/chat").text
    # the families' database never saw the practice family
    with rig.app.ctx.db() as db:
        assert not db.scalar(select(func.count()).select_from(m.Contact))
    assert date.today()  # the chat starts today in the chosen zone, like `craftbot chat`


def test_stats_show_retention_days_opt_outs_and_the_minutes_to_acknowledge(rig: Rig) -> None:
    ctx = rig.app.ctx
    # given two families who joined eight weeks ago, one of whom stopped after ten days
    joined = START - timedelta(weeks=8)
    old = [
        enroll(ctx, Enrollment("sms", f"+1201555016{n}", None, "parent"), joined) for n in range(2)
    ]
    # and this week: four evening answers (two days each: one check-in a day), an opt-out by
    # email, two alerts
    day = START.date()
    email = enroll(ctx, Enrollment("email", "quiet@example.org", None, "partner"))
    with ctx.db.begin() as db:
        db.add(opt_out(old[0], "sms", joined + timedelta(days=10)))
        db.add(opt_out(email, "email", START))
        for n, value in enumerate(("use", "non_use", "non_use", "unsure")):
            on = day + timedelta(days=n // 2)
            db.add(m.Checkin(contact_id=old[n % 2], value=value, local_date=on, at=START))
    rig.family_writes("+12015550170", "she took too many pills and won't wake up", "SM-s1")
    rig.clock.now += timedelta(minutes=10)
    rig.family_writes("+12015550171", "I want to kill myself", "SM-s2")
    with ctx.db() as db:
        first, second = db.scalars(select(m.Alert.id).order_by(m.Alert.id)).all()
    # one taken by an on-call phone 12 minutes on, one closed in the console 30 minutes on
    rig.clock.now = START + timedelta(minutes=12)
    assert rig.app.runtime.acknowledge_alert(first, "sms +15550100", "sms") == "done"
    rig.clock.now = START + timedelta(minutes=40)
    assert rig.app.runtime.close_alert(second, "coach@example.org", "Called.") == "done"
    page = rig.signed_in(COACH).get("/console/stats").text

    def row(chart: str, week: date) -> str:
        section = re.search(rf'id="chart-{chart}".*?</section>', page, re.S)
        assert section, chart
        label = f"{week - timedelta(days=week.weekday()):%d %b}"
        found = re.search(rf"<tr><td>{label}</td>(.*?)</tr>", section.group(0))
        assert found, (chart, label)
        return " ".join(re.findall(r"<td>(.*?)</td>", found.group(1)))

    # then half of the cohort stayed six weeks, against the 54% line
    assert row("retention", joined.date()) == "50.0%"
    # the week's days: non-use, use, unsure; opt-outs by channel: sms, telegram, email
    assert row("days", day) == "2.0 1.0 1.0"
    assert row("optouts", day) == "0.0 0.0 1.0"
    assert row("optouts", (joined + timedelta(days=10)).date()) == "1.0 0.0 0.0"
    # two alerts, and the median minutes to the first staff touch: 12 and 30 make 21
    assert row("alerts", day) == "2.0"
    assert row("acknowledge", day) == "21.0"


def opt_out(contact_id: int, channel: str, at: datetime) -> m.Consent:
    return m.Consent(
        contact_id=contact_id,
        given=False,
        action="opt_out",
        channel=channel,
        by="self",
        words="STOP",
        at=at,
    )


def test_the_web_chat_reads_in_the_order_things_happened(rig: Rig) -> None:
    """'+1d' wrote "1 day(s) later" at tomorrow 13:00 and then the 09:00 lesson and the 13:00
    nudge under it: the clock's line came before the messages it had moved through."""
    coach = rig.signed_in(COACH)
    form = {"channel": "sms", "zone": "America/New_York"}
    post_form(coach, "/console/chat/start", form, "/console/chat")
    for text in ("hi", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm"):
        post_form(coach, "/console/chat/say", {"text": text}, "/console/chat")
    post_form(coach, "/console/chat/say", {"wait": "1d"}, "/console/chat")
    post_form(coach, "/console/chat/say", {"jump": "checkin"}, "/console/chat")
    chat = coach.get("/console/chat").text
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    times = re.findall(r'class="when">(\w{3}) (\d\d):(\d\d)</span>', chat)
    first = days.index(times[0][0])  # the chat covers less than a week: count from its first day
    shown = [(days.index(d) - first) % 7 * 1440 + int(h) * 60 + int(m) for d, h, m in times]
    assert shown == sorted(shown), times
    assert "1 day(s) later" in chat and "moved to the next check-in" in chat
