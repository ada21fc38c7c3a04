"""A crisis through the real runtime: the reply at once, the alert, the team told, the pause and the
follow-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from bot.app import App, build
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage, SendOutcome, SendResult
from bot.engine.session import Session
from bot.runtime.inbound import InboundResult
from bot.settings import Settings
from bot.simulation import Harness, Sent
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade

pytestmark = pytest.mark.usefixtures("program_loaded_once")

NY = ZoneInfo("America/New_York")
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=NY)
FAMILY = "+15550123"
UK_FAMILY = "+442079460123"  # Ofcom keeps 020 7946 0xxx for drama: never a real phone
STAFF_SMS, STAFF_EMAIL, STAFF_CHAT = "+15550199", "oncall@example.org", "4242"
JOIN = ("hi", "yes", "I'm Ana", "1", "no", "Sam", "eastern", "9am", "7pm")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return staffed(f"sqlite:///{tmp_path / 'crisis.db'}")


def staffed(db_url: str, **more: Any) -> Settings:
    staff = {
        "staff_alert_sms": STAFF_SMS,
        "staff_alert_email": STAFF_EMAIL,
        "staff_alert_telegram": STAFF_CHAT,
        "org_contact": "call 555-0100",
    }
    return Settings(database_url=db_url, **{**staff, **more})


@pytest.fixture
def family(settings: Settings) -> Iterator[Harness]:
    harness = Harness(settings, MONDAY_10AM, address=FAMILY)
    yield harness
    harness.close()


def joined(h: Harness) -> Harness:
    for text in JOIN:
        h.say(text)
    assert h.session().status == "active"
    return h


def ids(sent: list[Sent]) -> list[str]:
    return [s.message_id for s in sent]


def alerts(h: Harness) -> list[m.Alert]:
    with h.app.ctx.db() as db:
        return list(db.scalars(select(m.Alert).order_by(m.Alert.id)))


def staff_rows(h: Harness) -> list[m.OutboundMessage]:
    with h.app.ctx.db() as db:
        return list(
            db.scalars(
                select(m.OutboundMessage)
                .where(m.OutboundMessage.contact_id.is_(None))
                .order_by(m.OutboundMessage.id)
            )
        )


def assert_crisis_handled(
    h: Harness,
    sent: list[Sent],
    reply: str,
    category: str,
    words: str,
    text: str,
    address: str = FAMILY,
) -> None:
    """The family got the reply and 'the team knows' now; an alert names the words; every staff
    channel was told."""
    assert ids(sent)[:2] == [reply, "crisis.team_told"]
    assert all(s.kind == "crisis" and s.at == h.now for s in sent[:2])
    alert = alerts(h)[-1]
    assert (alert.category, alert.text, alert.notified) == (category, text, True)
    assert words in alert.matched.split(", ")
    told = staff_rows(h)[-3:]
    assert sorted((r.channel, r.address) for r in told) == [
        ("email", STAFF_EMAIL),
        ("sms", STAFF_SMS),
        ("telegram", STAFF_CHAT),
    ]
    for row in told:
        assert row.status == "sent" and row.sent_at == h.now and row.kind == "crisis"
        # what staff need to act (which alert, how to take it, which family and how to reach
        # them), never the family's own words: a lock screen shows the notice's first line
        assert f"craftbot alert {alert.id} (urgent). Reply ACK {alert.id}" in row.text
        assert address in row.text.splitlines()[1] and category in row.text.lower()
        assert text not in row.text


# --- wherever the family is ---------------------------------------------------------------------
def test_a_crisis_mid_onboarding_is_answered_and_joining_goes_on_after(
    family: Harness,
) -> None:
    # given a family who consented and was asked their name
    family.say("hi")
    assert ids(family.say("yes")) == ["onboarding.ask_name"]
    # when
    sent = family.say("he's not breathing")
    # then
    assert_crisis_handled(
        family, sent, "crisis.overdose.US", "overdose", "not breathing", "he's not breathing"
    )
    assert "Call 911 now" in sent[0].text
    # and joining goes on where it stopped: she said YES, so she is not asked to join again
    assert ids(family.say("he's awake now, thank you")) == ["onboarding.ask_name"]


def test_a_crisis_mid_check_in_is_a_crisis_first_pauses_a_day_and_follows_up_outside_quiet_hours(
    family: Harness,
) -> None:
    # given an evening check-in question open at 19:00
    joined(family)
    assert ids(family.until("checkin"))[-1] == "checkin.question"
    # when
    sent = family.say("she took too many pills")
    # then the emergency reply, and the use it reports still recorded (crisis-signals.md: "a
    # crisis first; record the check-in as well"); the question is closed
    assert_crisis_handled(
        family,
        sent,
        "crisis.overdose.US",
        "overdose",
        "took too many pills",
        "she took too many pills",
    )
    assert family.checkins() == ["use"] and family.session().flow is None
    # the follow-up would fall at 23:00, inside quiet hours: it comes at 08:00, before any lesson
    assert family.advance(timedelta(hours=4, minutes=30)) == []
    followup = family.until("followup")
    assert ids(followup) == ["crisis.followup"] and followup[0].at == datetime(
        2026, 3, 3, 8, 0, tzinfo=NY
    )
    # no cheerful lesson at 09:00 or check-in at 19:00 while they have not answered: 24 h of pause
    assert family.advance_to(datetime(2026, 3, 3, 18, 59, tzinfo=NY)) == []
    assert family.session().paused_at(family.now)


def test_we_are_ok_resumes_the_program_the_same_day(family: Harness) -> None:
    joined(family)
    family.until("checkin")
    family.say("I can't do this anymore")
    family.until("followup")
    # when
    sent = family.say("we're ok")
    # then
    assert ids(sent) == ["crisis.followup_ok"] and not family.session().paused_at(family.now)
    # 09:00, an hour after "we're ok"; the second day's lesson brings the safety question
    assert ids(family.until("lesson")) == ["lesson.honest_hope", "safety.ask"]
    assert ids(family.until("checkin"))[-1] == "checkin.question"


def test_not_ok_tells_the_team_again_and_gives_the_numbers(family: Harness) -> None:
    joined(family)
    family.say("she has a knife and I'm scared")
    family.until("followup")
    # when
    sent = family.say("not ok")
    # then
    # the family's answer first, then (staff being configured) that the team was told again
    assert ids(sent) == ["crisis.followup_not_ok.US", "crisis.team_told"]
    assert "call 911" in sent[0].text and "988" in sent[0].text
    assert [a.category for a in alerts(family)] == ["violence", "crisis_followup"]
    again = staff_rows(family)[-3:]
    assert all(r.status == "sent" and FAMILY in r.text for r in again)
    assert all("answered the follow-up: not ok" in r.text for r in again)
    assert family.session().paused_at(family.now)


def test_inside_quiet_hours_the_crisis_reply_goes_at_once_as_every_answer_does(
    family: Harness,
) -> None:
    # given 23:30 local time
    joined(family)
    family.advance_to(datetime(2026, 3, 2, 23, 30, tzinfo=NY))
    # when an everyday message, then a crisis
    assert ids(family.say("hello")) == ["system.fallback"]  # an answer: at any hour (issue 20)
    sent = family.say("I want to end it all")
    # then
    assert family.held() == []
    assert_crisis_handled(
        family, sent, "crisis.suicide.US", "suicide", "end it all", "I want to end it all"
    )
    assert "988" in sent[0].text


def test_an_evening_reply_still_queued_is_not_sent_after_a_crisis(family: Harness) -> None:
    # given a check-in answered at 21:30 while the worker was down: its cheerful reply is queued
    joined(family)
    family.until("checkin")
    family.now = datetime(2026, 3, 2, 21, 30, tzinfo=NY)
    family.app.runtime.handle_inbound(InboundMessage("sms", FAMILY, "1", "late-1"), family.now)
    assert [i for i, _ in family.held()][0].startswith("reward.")
    # when, before the worker is back, the family writes of an overdose
    family.say("he overdosed")
    # then the morning brings the follow-up only
    assert ids(family.advance_to(datetime(2026, 3, 3, 12, 0, tzinfo=NY))) == ["crisis.followup"]


def test_while_paused_a_crisis_is_answered_and_the_pause_stays(family: Harness) -> None:
    joined(family)
    family.say("PAUSE")
    # when
    sent = family.say("he hit me")
    # then
    assert_crisis_handled(family, sent, "crisis.violence.US", "violence", "hit me", "he hit me")
    assert "88788" in sent[0].text
    assert family.session().paused_at(family.now + timedelta(days=30))


def test_after_stop_a_crisis_is_answered_the_team_told_and_no_follow_up_is_sent(
    family: Harness,
) -> None:
    joined(family)
    family.say("STOP")
    # when
    sent = family.say("my son isn't breathing")
    # then
    assert_crisis_handled(
        family, sent, "crisis.overdose.US", "overdose", "isn't breathing", "my son isn't breathing"
    )
    assert family.session().status == "opted_out"
    assert family.advance(timedelta(days=2)) == []


def test_the_follow_up_is_not_sent_to_someone_who_stopped_after_the_crisis(family: Harness) -> None:
    joined(family)
    family.say("she has a gun")
    assert ids(family.say("STOP")) == ["keyword.stopped"]
    assert family.advance(timedelta(days=2)) == []


# --- which words, which numbers -----------------------------------------------------------------
def test_a_uk_number_gets_999_and_samaritans(settings: Settings) -> None:
    uk = Harness(settings, MONDAY_10AM, address=UK_FAMILY)
    try:
        sent = uk.say("I don't want to be here anymore")
        assert_crisis_handled(
            uk,
            sent,
            "crisis.suicide.GB",
            "suicide",
            "don't want to be here",
            "I don't want to be here anymore",
            UK_FAMILY,
        )
        assert sent[0].text.startswith("If anyone is in immediate danger, call 999 now.")
        assert "Samaritans on 116 123" in sent[0].text and "911" not in sent[0].text
    finally:
        uk.close()


def test_spanish_words_from_an_english_contact_get_the_english_reply(family: Harness) -> None:
    joined(family)
    sent = family.say("me quiero morir")
    assert_crisis_handled(
        family, sent, "crisis.suicide.US", "suicide", "me quiero morir", "me quiero morir"
    )
    assert "call or text 988" in sent[0].text


def test_a_spanish_contact_gets_the_spanish_reply_for_english_words(family: Harness) -> None:
    joined(family)
    with family.app.ctx.db.begin() as db:
        db.execute(update(m.Contact).values(locale="es"))
    sent = family.say("he is not breathing")
    assert ids(sent) == ["crisis.overdose.US", "crisis.team_told"]
    assert sent[0].text.startswith("Llama al 911 ahora") and "Nuestro equipo de" in sent[1].text


def test_without_staff_configured_the_reply_does_not_claim_the_team_was_told(
    tmp_path: Path,
) -> None:
    alone = Harness(
        Settings(database_url=f"sqlite:///{tmp_path / 'alone.db'}"), MONDAY_10AM, address=FAMILY
    )
    try:
        sent = alone.say("he's not breathing")
        assert ids(sent) == ["crisis.overdose.US"]
        assert [a.notified for a in alerts(alone)] == [False] and staff_rows(alone) == []
    finally:
        alone.close()


# --- under load -----------------------------------------------------------------------------------
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=NY)
CRISES = ("he's not breathing", "I want to end it all", "she has a knife", "he took too many pills")


class Lane:
    """A channel that notes when each message reaches it (the provider's side of the wire)."""

    def __init__(self, name: ChannelName) -> None:
        self.name: ChannelName = name
        self.arrivals: list[tuple[float, OutboundMessage]] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.arrivals.append((time.perf_counter(), message))
        return SendResult(SendOutcome.SENT, provider_id=f"lane-{message.id}")

    async def aclose(self) -> None:
        return None


def app_on(db_url: str, lanes: dict[str, Lane], **more: Any) -> App:
    engine = make_engine(db_url)
    upgrade(engine)  # SQLite does this itself; PostgreSQL has the release step
    engine.dispose()
    return build(staffed(db_url, **more), channels=lanes, clock=lambda: NOON)  # type: ignore[arg-type]


async def inbound_as_the_web_app_does(app: App, message: InboundMessage) -> InboundResult:
    """The runtime in a worker thread, then the crisis rows sent at once, as bot/web/app.py does."""
    result = await asyncio.to_thread(app.runtime.handle_inbound, message)
    await app.dispatcher.dispatch(ids=result.crisis_ids, limit=len(result.crisis_ids))
    return result


async def test_a_flood_of_200_crisis_messages_from_50_families_is_answered_in_full(
    db_url: str,
) -> None:
    # given 50 families each writing 4 crisis messages at the same moment, on a number that may
    # send one SMS a second (a family's crisis reply never waits for that pace: the 400 would take
    # 400 s). The team hears by email here, at a quick pace: notices to staff keep their channel's
    # pace (one staff phone: 1 a second; one Telegram chat: a gap of a second), which would make
    # this test wait 200 s for nothing it checks.
    lanes = {name: Lane(name) for name in ("sms", "telegram", "email")}
    app = app_on(
        db_url,
        lanes,
        sms_rate_per_s=1.0,
        staff_alert_sms="",
        staff_alert_telegram="",
        email_rate_per_s=100.0,
    )
    flood = [
        InboundMessage("sms", f"+155501{n:02d}", CRISES[k], f"flood-{n}-{k}")
        for k in range(4)
        for n in range(50)
    ]
    try:
        # when
        started = time.perf_counter()
        results = await asyncio.gather(*(inbound_as_the_web_app_does(app, msg) for msg in flood))
        took = time.perf_counter() - started
        # then every message got its reply and its alert, and the team heard of each
        with app.ctx.db() as db:
            alerts_ = db.scalars(select(m.Alert)).all()
            left = db.scalars(
                select(m.OutboundMessage).where(m.OutboundMessage.status != "sent")
            ).all()
        family = [msg for _, msg in lanes["sms"].arrivals if msg.address != STAFF_SMS]
        print(
            f"\nflood: 200 crisis messages from 50 families answered in {took:.2f} s "
            f"({db_url.split(':')[0]})"
        )
        assert not any(r.duplicate for r in results) and len(alerts_) == 200 and left == []
        assert sum(msg.crisis for msg in family) == 400  # the reply and "the team knows" for each
        assert {msg.address for msg in family} == {f"+155501{n:02d}" for n in range(50)}
        assert [len(lanes[c].arrivals) for c in ("telegram", "email")] == [0, 200]
        assert {msg.address for _, msg in lanes["email"].arrivals} == {STAFF_EMAIL}
    finally:
        await app.aclose()


def queue_lessons(app: App, families: int) -> list[str]:
    """`families` active email families, each with today's lesson queued: a morning fan-out."""
    addresses = [f"family{n:04d}@example.org" for n in range(families)]
    session = Session(status="active", onboarded=True, profile={"country": "US"}).to_json()
    with app.ctx.db.begin() as db:
        db.execute(
            insert(m.Contact),
            [
                {
                    "channel": "email",
                    "address": a,
                    "status": "active",
                    "locale": "en",
                    "country": "US",
                    "timezone": "America/New_York",
                    "lesson_time": "09:00",
                    "checkin_time": "19:00",
                    "paused_indefinitely": False,
                    "session": session,
                    "created_at": NOON,
                    "updated_at": NOON,
                }
                for a in addresses
            ],
        )
        ids_ = {
            address: id_ for address, id_ in db.execute(select(m.Contact.address, m.Contact.id))
        }
        db.execute(
            insert(m.OutboundMessage),
            [
                {
                    "contact_id": ids_[a],
                    "channel": "email",
                    "address": a,
                    "message_id": "lesson.what_is_craft",
                    "kind": "normal",
                    "text": "Today's lesson",
                    "subject": "Today's lesson",
                    "status": "queued",
                    "not_before": NOON,
                    "attempts": 0,
                    "created_at": NOON,
                }
                for a in addresses
            ],
        )
    return addresses


async def test_a_crisis_during_a_5000_family_fan_out_is_answered_before_the_fan_out_ends(
    db_url: str,
) -> None:
    # given 5,000 lessons going out in batches of 500 through an email lane paced at 500 a second
    lane = Lane("email")
    app = app_on(
        db_url, {"email": lane}, email_rate_per_s=500.0, staff_alert_sms="", staff_alert_telegram=""
    )
    stop = asyncio.Event()

    async def worker() -> (
        None
    ):  # the worker's drain, stoppable between batches to keep the test short
        while not stop.is_set() and (await app.dispatcher.dispatch(limit=500)).sent:
            pass

    try:
        addresses = queue_lessons(app, 5000)
        last = addresses[-1]  # the family whose lesson is at the back of the queue
        fan_out = asyncio.create_task(worker())
        while len(lane.arrivals) < 100:
            await asyncio.sleep(0.005)
        # when that family writes in the middle of it
        started = time.perf_counter()
        await inbound_as_the_web_app_does(
            app, InboundMessage("email", last, "he's not breathing", "mid-fan-out")
        )
        reply_at = next(t for t, msg in lane.arrivals if msg.address == last and msg.crisis)
        while not fan_out.done() and lane.arrivals[-1][0] <= reply_at:
            await asyncio.sleep(0.005)
        stop.set()
        await fan_out
        # then the reply and the staff notice came while the lessons were still going out
        before = sum(t < reply_at and not msg.crisis for t, msg in lane.arrivals)
        after = sum(t > reply_at and not msg.crisis for t, msg in lane.arrivals)
        print(
            f"\nfan-out: crisis reply {1000 * (reply_at - started):.1f} ms after the message "
            "arrived, "
            f"{before} of 5000 lessons sent before it, {after} after ({db_url.split(':')[0]})"
        )
        assert after > 0 and before + after < 4999
        assert any(msg.address == STAFF_EMAIL and msg.crisis for _, msg in lane.arrivals)
        assert [msg.text[:13] for _, msg in lane.arrivals if msg.address == last] == [
            "Call 911 now ",
            "Our team at F",
        ]
        with (
            app.ctx.db() as db
        ):  # and its own lesson, still queued, will never follow the emergency reply
            assert (
                db.scalar(
                    select(m.OutboundMessage.status).where(
                        m.OutboundMessage.address == last, m.OutboundMessage.kind == "normal"
                    )
                )
                == "cancelled"
            )
    finally:
        await app.aclose()
