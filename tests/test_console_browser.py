"""The console in a real headless Chromium (Debian's package), driven by Playwright.

A coach signs in, lands on the alerts, opens a family's conversation, pauses the family, opens a
flow diagram (drawn as SVG by the vendored Mermaid), tries the web chat, answers a question a
family texted with ASK through the signed Twilio webhook (the answer reaching the Twilio stand-in
through the real SDK), and acknowledges and closes the alert that crisis words texted through the
same webhook raised (the on-call phone's ACK then finds it taken). Each step saves a screenshot
in tests/artifacts/console/; with CRAFTBOT_DOC_SCREENSHOTS=1 the ones docs/console.md shows are
written to docs/console/ as well.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.console.accounts import Accounts
from bot.runtime.admin import Enrollment, enroll
from bot.settings import REPO_ROOT
from storage import models as m
from tests.console_rig import COACH, FAST_HASHER, PASSWORD, SECRET, START, Rig, console_rig
from tests.e2e import Family, Providers, running_stack

CHROMIUM = Path(os.environ.get("CRAFTBOT_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "console"
DOCS = REPO_ROOT / "docs" / "console"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the browser tests must not be skipped)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        rig.staff(COACH)
        yield rig


@pytest.fixture
def page(browser: Any, rig: Rig) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, base_url=rig.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not errors, f"the page reported errors: {errors}"


def shot(tab: Any, name: str, doc: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 5_000  # a real picture, not a blank page
    if doc and os.environ.get("CRAFTBOT_DOC_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")


def seed_weeks(rig: Rig, weeks: int = 10, per_week: int = 6) -> None:
    """Some made-up weeks of families, check-ins and opt-outs, so the charts have a shape."""
    draw, ctx = random.Random(7), rig.app.ctx
    for week in range(weeks):
        for n in range(per_week):
            joined = START - timedelta(weeks=weeks - week, hours=n)
            address = f"family{week}-{n}@example.org"
            contact_id = enroll(ctx, Enrollment("email", address, None, "parent"), joined)
            with ctx.db.begin() as db:
                for day in range(0, (weeks - week) * 7, 2):
                    local = (joined + timedelta(days=day)).date()
                    at = joined + timedelta(days=day)
                    db.add(
                        m.Delivery(contact_id=contact_id, kind="checkin", local_date=local, at=at)
                    )
                    if draw.random() < 0.66:
                        value = draw.choice(("use", "non_use", "non_use", "unsure"))
                        db.add(
                            m.Checkin(contact_id=contact_id, value=value, local_date=local, at=at)
                        )
                if draw.random() < 0.3:
                    stop = joined + timedelta(days=draw.randint(3, 60))
                    if stop < START:
                        channel = draw.choice(("sms", "sms", "email", "telegram"))
                        db.add(
                            m.Consent(
                                contact_id=contact_id,
                                given=False,
                                action="opt_out",
                                channel=channel,
                                by="self",
                                words="STOP",
                                at=stop,
                            )
                        )


def sign_in(tab: Any, picture: str = "") -> None:
    tab.goto("/console/")
    assert "/console/login" in tab.url
    if picture:
        shot(tab, picture)
    tab.fill("input[name=email]", COACH)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button:has-text('Sign in')")
    tab.wait_for_url("**/console/alerts")


def test_a_coach_signs_in_and_lands_on_the_alerts(page: Any, rig: Rig) -> None:
    rig.family_writes("+12015550161", "hi", "SM-b1")
    rig.family_writes("+12015550161", "my son took too many pills and won't wake up", "SM-b2")
    sign_in(page, "login")
    card = page.locator("article.alert-card").first
    assert "overdose" in card.inner_text() and "urgent" in card.inner_text()
    card.locator("summary").click()  # the conversation around the alert
    assert "Call 911" in card.inner_text()
    shot(page, "alerts", doc=True)
    page.set_viewport_size(PHONE)
    shot(page, "alerts-phone", doc=True)
    seed_weeks(rig)
    page.set_viewport_size({"width": 1100, "height": 1300})
    page.goto("/console/stats")
    assert page.locator("svg.chart").count() >= 7
    shot(page, "stats", doc=True)


def test_a_coach_opens_a_familys_conversation_and_pauses_them(page: Any, rig: Rig) -> None:
    rig.family_writes("+12015550162", "hi", "SM-b3")
    rig.family_writes("+12015550162", "yes", "SM-b4")
    rig.family_writes("+12015550162", "Maria", "SM-b5")
    sign_in(page)
    page.click("nav >> text=Families")
    page.fill("input[name=q]", "maria")
    page.click("button:has-text('Search')")
    page.click("table.list >> text=Maria")
    timeline = page.locator("ol.timeline")
    assert "Maria" in timeline.inner_text() and "What first name" in timeline.inner_text()
    shot(page, "family", doc=True)
    page.click("button:has-text('Pause')")
    assert "Paused:" in page.locator("p.done").inner_text()
    assert "paused until someone resumes" in page.locator("dl.profile").inner_text()
    assert page.locator("button:has-text('Resume')").count() == 1
    shot(page, "family-paused")


def test_a_flow_diagram_is_drawn_by_the_vendored_mermaid(page: Any, rig: Rig) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page)
    page.click("nav >> text=Program")
    page.click("ul.flows >> text=checkin")
    svg = page.locator("pre.mermaid svg")
    svg.wait_for(state="visible", timeout=20_000)
    assert page.locator("pre.mermaid svg g.node").count() >= 5
    assert "ask" in (svg.text_content() or "")
    shot(page, "flow", doc=True)
    assert requested and all(url.startswith(rig.url) for url in requested), requested


def test_a_coach_tries_the_program_in_the_web_chat(page: Any, rig: Rig) -> None:
    sign_in(page)
    page.click("nav >> text=Try a chat")
    page.click("button:has-text('Start a chat')")
    for text in ("hi", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm"):
        page.fill("input[name=text]", text)
        page.click("form.say button")
    assert "You're set" in page.locator("ol.chat").inner_text()
    page.click("button:has-text('Go to the next lesson')")
    chat = page.locator("ol.chat").inner_text()
    assert "moved to the next lesson" in chat
    page.set_viewport_size(PHONE)
    page.locator("#end").scroll_into_view_if_needed()
    shot(page, "chat", doc=True)


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


def test_a_family_asks_by_sms_and_a_coach_answers_in_the_console(
    browser: Any, providers: Providers, tmp_path: Path
) -> None:
    with running_stack(
        providers,
        tmp_path,
        console_enabled=True,
        console_secret_key=SECRET,
        org_contact="call 555-0100",
    ) as stack:
        Accounts(stack.app.ctx.db, stack.app.ctx.clock, FAST_HASHER).add(COACH, "coach", PASSWORD)
        number = "+12015550163"
        family = Family(stack, "sms", number, lambda text: stack.sms(number, text))
        for text in ("hi", "yes", "Maria", "1", "no", "SKIP", "1", "9am", "7pm"):
            family.say(text)
        # a family member texts ASK and a question, through Twilio's signed webhook
        question = "ASK My son says he'll stop on his own. Should I believe him?"
        assert family.say(question) == ["ask.received"]
        assert "a person will answer you here within a day" in family.last_text()
        stack.clock.now += timedelta(minutes=40)
        context = browser.new_context(viewport=DESKTOP, base_url=stack.url)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            sign_in(tab)
            tab.click("nav >> text=Questions")
            inbox = tab.locator("table.questions")
            assert "Should I believe him?" in inbox.inner_text()
            assert "waiting 40 min" in inbox.inner_text()
            shot(tab, "questions", doc=True)
            tab.click("table.questions >> text=My son says")
            # the coach starts from a saved answer, in Maria's words, and makes it their own
            tab.select_option("select[name=use]", "coach_answer.inviting_to_treatment")
            tab.click("button:has-text('Use it')")
            box = tab.locator("textarea[name=text]")
            saved = box.input_value()
            assert saved.startswith("Have one option ready before you ask")
            box.fill(f"Hi Maria, it's Sam from the team. {saved}")
            shot(tab, "question", doc=True)
            tab.click("button:has-text('Send the answer')")
            assert "goes out on the family's channel now" in tab.locator("p.done").inner_text()
            # the Twilio stand-in receives the answer, from a sent outbox row
            stack.settle()
            assert family.news() == ["staff.answer"]
            assert family.last_text().startswith("Hi Maria, it's Sam from the team. Have one")
            assert "Answered by coach@example.org" in tab.locator("main").inner_text()
            shot(tab, "question-answered")
        finally:
            context.close()
        assert not errors, errors


def test_a_crisis_texted_by_sms_is_acknowledged_and_closed_in_the_console(
    browser: Any, providers: Providers, tmp_path: Path
) -> None:
    on_call = "+12015550190"
    with running_stack(
        providers,
        tmp_path,
        console_enabled=True,
        console_secret_key=SECRET,
        staff_alert_sms=on_call,
        org_contact="call 555-0100",
    ) as stack:
        Accounts(stack.app.ctx.db, stack.app.ctx.clock, FAST_HASHER).add(COACH, "coach", PASSWORD)
        number = "+12015550164"
        family = Family(stack, "sms", number, lambda text: stack.sms(number, text))
        for text in ("hi", "yes", "Rosa"):
            family.say(text)
        # a family member texts crisis words through Twilio's signed webhook
        said = family.say("my son took too many pills and won't wake up")
        assert said and said[0].startswith("crisis.overdose")
        notice = stack.received("sms", on_call)
        assert len(notice) == 1 and "Reply ACK" in notice[0]["text"]
        stack.clock.now += timedelta(minutes=3)
        context = browser.new_context(viewport=DESKTOP, base_url=stack.url)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            sign_in(tab)
            card = tab.locator("article.alert-card").first
            assert "overdose · Rosa" in card.inner_text() and "open" in card.inner_text()
            card.locator("a.title").click()
            alert_id = tab.url.rsplit("/", 1)[-1]
            page = tab.locator("main")
            assert "won't wake up" in page.inner_text()
            tab.click("button:has-text('Acknowledge: I have this')")
            assert f"Acknowledged by {COACH} (console)" in page.inner_text()
            # the on-call phone's ACK finds the same status: the coach has it
            stack.sms(on_call, f"ACK {alert_id}")
            stack.settle()
            answer = stack.received("sms", on_call)[-1]["text"]
            assert f"already acknowledged by {COACH}" in answer, answer
            tab.fill("textarea[name=note] >> nth=0", "Called Rosa; the ambulance came.")
            tab.click("button:has-text('Close the alert')")
            assert f"Closed by {COACH}" in page.inner_text()
            assert "Called Rosa; the ambulance came." in page.inner_text()
            shot(tab, "alert", doc=True)
            tab.click("text=← All alerts")
            assert "closed" in tab.locator("article.alert-card").first.inner_text()
        finally:
            context.close()
        assert not errors, errors
        alert = stack.app.runtime.alerts(None, 10)[0]
        assert (alert.status, alert.acknowledged_via) == ("closed", "console")


def overflow(tab: Any) -> list[str]:
    """What sticks out past the right edge of the window (the page scrolls sideways then)."""
    return tab.evaluate(
        """() => {
        const page = document.documentElement, edge = page.clientWidth + 1, out = [];
        // text running out of its box (one long word) shows only in the page's width
        if (page.scrollWidth > edge) out.push(`the page is ${page.scrollWidth} px wide`);
        for (const el of document.querySelectorAll('main *')) {
            const box = el.getBoundingClientRect();
            let scrolls = false;
            for (let p = el.parentElement; p; p = p.parentElement) {
                if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) scrolls = true;
            }
            if (box.width && box.right > edge && !scrolls) out.push(`${el.tagName} ${box.right}`);
        }
        return out;
    }"""
    )


def test_the_lists_fit_a_phone(browser: Any, rig: Rig) -> None:
    """The questions, families and audit lists on a 390 px phone: every column readable without
    the page scrolling sideways (the last column, "Time to answer", was off the screen)."""
    address = "a.family.member.with.a.long.address@example.org"
    enroll(rig.app.ctx, Enrollment("email", address, "Rosa", "parent"), START)
    for n, text in enumerate(("hi", "yes", "Maria")):
        rig.family_writes("+12015550165", text, f"SM-b6{n}")
    rig.family_writes("+12015550165", "ASK how do I bring up treatment without a fight?", "SM-b7")
    rig.staff("admin@example.org", "admin")
    context = browser.new_context(viewport=PHONE, base_url=rig.url)
    tab = context.new_page()
    try:
        tab.goto("/console/login")
        tab.fill("input[name=email]", "admin@example.org")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button:has-text('Sign in')")
        tab.wait_for_url("**/console/alerts")
        for path, shown in (
            ("/console/questions", "waiting 0 min"),
            ("/console/families", address),
            ("/console/audit", "login"),
        ):
            tab.goto(path)
            assert shown in tab.locator("main").inner_text(), path
            assert overflow(tab) == [], path
            shot(tab, "phone-" + path.rsplit("/", 1)[-1])
    finally:
        context.close()


def test_a_flow_diagram_is_readable_on_a_phone(browser: Any, rig: Rig) -> None:
    """The check-in flow is about 3,000 px wide: shrunk to the screen its labels were 2 px tall
    on a phone (4 px on a desktop). Drawn at its size, it scrolls inside its box instead."""
    context = browser.new_context(viewport=PHONE, base_url=rig.url)
    tab = context.new_page()
    try:
        sign_in(tab)
        tab.goto("/console/program/flows/checkin")
        label = tab.locator("pre.mermaid svg g.node .nodeLabel").first
        label.wait_for(state="visible", timeout=20_000)
        # labels are drawn 16 px high at the diagram's own size: none of it shrunk away
        scale = tab.locator("pre.mermaid svg").evaluate(
            "svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width"
        )
        assert scale > 0.9, scale
        # and the box opens where the flow starts, not on an empty corner of it
        start = tab.locator("pre.mermaid svg g.node").first.bounding_box()
        assert start and start["x"] >= 0 and start["x"] + start["width"] <= PHONE["width"]
        assert overflow(tab) == []  # the diagram's box scrolls; the page does not
        shot(tab, "flow-phone")
    finally:
        context.close()


def test_a_long_link_a_family_pasted_fits_a_phone(browser: Any, rig: Rig) -> None:
    """A family pastes a long link into a question: one unbroken word. It stretched the family's
    page to 2,000 px on a 390 px phone, so every line of the conversation ran off the screen."""
    link = "https://example.org/?ref=" + "AbCdEfGhIj" * 16
    for n, text in enumerate(("hi", "yes", "Maria", f"ASK {link} is this right?")):
        rig.family_writes("+12015550166", text, f"SM-b8{n}")
    context = browser.new_context(viewport=PHONE, base_url=rig.url)
    tab = context.new_page()
    try:
        sign_in(tab)
        tab.goto("/console/questions")
        tab.click("table.questions a:has-text('example.org')")
        assert link in tab.locator("main").inner_text()
        assert overflow(tab) == [], tab.url
        tab.click("text=The whole conversation")
        assert link in tab.locator("ol.timeline").inner_text()
        assert overflow(tab) == [], tab.url
        shot(tab, "phone-long-link")
        # on a tablet the questions are a table: the word must not push its last column off
        tab.set_viewport_size({"width": 820, "height": 1180})
        tab.goto("/console/questions")
        assert overflow(tab) == [], tab.url
    finally:
        context.close()
