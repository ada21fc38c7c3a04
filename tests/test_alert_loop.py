"""The human loop through the real runtime: an alert is opened, staff are told, someone takes it
(by phone, in the console or with the CLI), or it escalates to the backup list and repeats.

Families and staff write in as inbound messages; what the dispatcher sends is recorded in the
order it was handed to the channels. Runs on SQLite and PostgreSQL (the `db_url` fixture).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import App, build
from bot.channels.base import InboundMessage, OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.runtime.alerts import Undelivered, undeliverable
from bot.runtime.outbox.reports import DeliveryReport
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade

pytestmark = pytest.mark.usefixtures("program_loaded_once")

NY = ZoneInfo("America/New_York")
TWO_AM = datetime(2026, 3, 3, 2, 0, tzinfo=NY)  # quiet hours: only crisis replies and answers go
FAMILY = "+15550123"
ON_CALL_SMS, ON_CALL_EMAIL, ON_CALL_CHAT = "+15550199", "oncall@example.org", "4242"
BACKUP_SMS, BACKUP_EMAIL = "+15550198", "backup@example.org"
STAFF = {
    "staff_alert_sms": f"Dana <{ON_CALL_SMS}>",
    "staff_alert_email": ON_CALL_EMAIL,
    "staff_alert_telegram": ON_CALL_CHAT,
    "staff_backup_sms": BACKUP_SMS,
    "staff_backup_email": BACKUP_EMAIL,
    "org_contact": "call 555-0100",
}
JOIN = ("hi", "yes", "Ana", "1", "no", "Sam", "eastern", "9am", "7pm")


class Rig:
    """The app with channels that record every send, in the order the dispatcher made them."""

    def __init__(
        self,
        db_url: str,
        start: datetime = TWO_AM,
        on: tuple[str, ...] = ("sms", "telegram", "email"),
        **settings: Any,
    ) -> None:
        self.now = start
        self.sent: list[OutboundMessage] = []
        self._ids = itertools.count(1)
        engine = make_engine(db_url)
        upgrade(engine)  # SQLite does this itself; PostgreSQL has the release step
        engine.dispose()
        channels = {c: ConsoleChannel(self.sent.append, c) for c in on}
        self.app: App = build(
            Settings(database_url=db_url, **settings),
            channels=channels,
            clock=lambda: self.now,
            rate_limits=False,
        )

    def write(self, text: str, address: str = FAMILY, channel: str = "sms") -> list[str]:
        """A message arrives; what went out because of it (addresses and first words)."""
        mark = len(self.sent)
        msg = InboundMessage(channel, address, text, f"in-{next(self._ids)}")  # type: ignore[arg-type]
        self.app.runtime.handle_inbound(msg, self.now)
        asyncio.run(self.app.dispatcher.drain(self.now))
        return [f"{s.address}: {s.text}" for s in self.sent[mark:]]

    def tick(self, at: datetime) -> list[OutboundMessage]:
        self.now = at
        mark = len(self.sent)
        self.app.runtime.fire_due(at)
        asyncio.run(self.app.dispatcher.drain(at))
        return self.sent[mark:]

    def alerts(self) -> list[m.Alert]:
        with self.app.ctx.db() as db:
            return list(db.scalars(select(m.Alert).order_by(m.Alert.id)))

    def contacts(self, address: str) -> int:
        with self.app.ctx.db() as db:
            query = select(func.count()).select_from(m.Contact).where(m.Contact.address == address)
            return int(db.scalar(query) or 0)

    def close(self) -> None:
        asyncio.run(self.app.aclose())


@pytest.fixture
def rig(db_url: str) -> Iterator[Rig]:
    made = Rig(db_url, **STAFF)
    yield made
    made.close()


def crisis(rig: Rig, text: str = "he's not breathing") -> m.Alert:
    rig.write(text)
    return rig.alerts()[-1]


def to(messages: list[OutboundMessage]) -> list[str]:
    return sorted(s.address for s in messages)


def test_an_emergency_opens_an_urgent_alert_and_tells_the_on_call_list_first(rig: Rig) -> None:
    # when a family writes about an overdose at 2 a.m.
    sent = rig.write("he's not breathing")
    # then an alert with an id, urgent and open, whose next notice is 10 minutes away
    [alert] = rig.alerts()
    assert (alert.priority, alert.status, alert.tier, alert.notified) == (
        1,
        "open",
        "emergency",
        True,
    )
    assert alert.escalate_at == TWO_AM + timedelta(minutes=10)
    # the family's reply left before any staff notice, and only on-call staff were told
    assert sent[0].startswith(f"{FAMILY}: Call 911 now")
    staff = [line for line in sent if not line.startswith(FAMILY)]
    first_staff = sent.index(staff[0])
    assert all(line.startswith(FAMILY) for line in sent[:first_staff])
    told = sorted(line.split(":")[0] for line in staff)
    assert told == sorted([ON_CALL_CHAT, ON_CALL_SMS, ON_CALL_EMAIL])
    assert not any(BACKUP_SMS in line or BACKUP_EMAIL in line for line in sent)
    # the notice's first line says only what to do; the family's words are not in it
    notice = next(line for line in staff if line.startswith(ON_CALL_SMS))
    assert f"craftbot alert {alert.id} (urgent). Reply ACK {alert.id}" in notice
    assert "not breathing" not in notice and FAMILY in notice
    # and the family heard, in honest words, that the team knows
    assert any("Our team at Family Support has been told" in line for line in sent)


def test_nobody_acknowledges_so_the_backup_list_is_told_then_everyone_again(rig: Rig) -> None:
    alert = crisis(rig)
    # nothing before the ten minutes are up
    assert rig.tick(TWO_AM + timedelta(minutes=9)) == []
    # at ten minutes: the backup list, and nobody else
    backup = rig.tick(TWO_AM + timedelta(minutes=10))
    assert to(backup) == [BACKUP_SMS, BACKUP_EMAIL]
    assert "has had no ACK for 10 min, so you are told as backup" in backup[0].text
    # then, every ALERT_REPEAT_MINUTES (15), everyone on either list until someone takes it
    assert rig.tick(TWO_AM + timedelta(minutes=24)) == []
    again = rig.tick(TWO_AM + timedelta(minutes=25))
    assert to(again) == sorted([ON_CALL_SMS, ON_CALL_EMAIL, ON_CALL_CHAT, BACKUP_SMS, BACKUP_EMAIL])
    assert all(f"alert {alert.id} (urgent) still has no ACK (notice 3)" in s.text for s in again)
    # escalation never reaches the family
    assert FAMILY not in to(backup + again)
    with rig.app.ctx.db() as db:
        stages = list(db.scalars(select(m.AlertNotice.stage).order_by(m.AlertNotice.id)))
    assert stages == [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_a_staff_ack_by_sms_takes_the_alert_and_stops_escalation(rig: Rig) -> None:
    alert = crisis(rig)
    rig.now += timedelta(minutes=3)
    # when the on-call person replies to the notice
    answer = rig.write(f"ACK {alert.id} - calling Maria now", ON_CALL_SMS)
    # then it is theirs, by their name, by SMS, with their words kept as a note
    [taken] = rig.alerts()
    assert (taken.status, taken.acknowledged_by, taken.acknowledged_via) == (
        "acknowledged",
        "Dana",
        "sms",
    )
    assert taken.acknowledged_at == TWO_AM + timedelta(minutes=3) and taken.escalate_at is None
    assert answer == [
        f"{ON_CALL_SMS}: Thank you: alert {alert.id} is acknowledged by you. Escalation to the "
        "backup list has stopped. Close it with a note in the console when it is done."
    ]
    with rig.app.ctx.db() as db:
        assert db.scalar(select(m.AlertNote.text)) == "calling Maria now"
    # and nobody is told again, however long it stays open
    assert rig.tick(TWO_AM + timedelta(hours=2)) == []


@pytest.mark.parametrize("channel", ["telegram", "email"])
def test_ack_alone_takes_the_newest_alert_this_address_was_told_of(rig: Rig, channel: str) -> None:
    crisis(rig)
    rig.now += timedelta(minutes=1)
    second = crisis(rig, "she took all her pills")
    address = {"telegram": ON_CALL_CHAT, "email": ON_CALL_EMAIL}[channel]
    # an email reply quotes the notice below the answer: only the first line counts
    text = "Ack\n\nOn Tue, craftbot wrote:\n> craftbot alert 1 (urgent). Reply ACK 1"
    rig.write(text if channel == "email" else "ack", address, channel)
    first, newest = rig.alerts()
    assert (first.status, newest.id, newest.status) == ("open", second.id, "acknowledged")
    assert newest.acknowledged_by == f"{channel} {address}"


def test_a_staff_address_is_never_onboarded_whatever_it_writes(rig: Rig) -> None:
    for text in ("hi", "/start", "YES", "he's not breathing", "STOP", "HELP"):
        answer = rig.write(text, ON_CALL_CHAT, "telegram")
        assert len(answer) == 1 and "not signed up as a family" in answer[0]
    assert rig.contacts(ON_CALL_CHAT) == 0 and rig.alerts() == []
    with rig.app.ctx.db() as db:
        assert db.scalar(select(func.count()).select_from(m.Consent)) == 0


def test_ack_mistakes_get_a_clear_answer_and_change_nothing(rig: Rig) -> None:
    assert rig.write("ACK", ON_CALL_SMS) == [
        f"{ON_CALL_SMS}: No open alert was sent to you. Reply ACK and the alert's number, as in "
        "ACK 42."
    ]
    assert "There is no alert 99" in rig.write("ACK 99", ON_CALL_SMS)[0]
    # a number no row can have (a phone number pasted after ACK) is no alert either, not a
    # database error that fails the webhook (SQLite's OverflowError: a 500, retried for ever)
    big = "9" * 25
    assert f"There is no alert {big}" in rig.write(f"ACK {big}", ON_CALL_SMS)[0]
    # nor is one of thousands of digits (past what Python's int() reads at all), and the answer
    # does not echo them all back
    [endless] = rig.write(f"ACK {'7' * 5000}", ON_CALL_SMS)
    assert f"There is no alert {'7' * 20}..." in endless and len(endless) < 200
    alert = crisis(rig)
    rig.write(f"ACK {alert.id}", BACKUP_EMAIL, "email")
    again = rig.write(f"ACK {alert.id}", ON_CALL_SMS)
    assert again == [
        f"{ON_CALL_SMS}: Alert {alert.id} is already acknowledged by email {BACKUP_EMAIL}."
    ]
    assert rig.alerts()[0].acknowledged_by == f"email {BACKUP_EMAIL}"


def test_the_console_and_the_phone_share_one_status(rig: Rig) -> None:
    alert = crisis(rig)
    runtime = rig.app.runtime
    assert runtime.acknowledge_alert(alert.id, "coach@example.org", "console") == "done"
    assert (
        "already acknowledged by coach@example.org" in rig.write(f"ACK {alert.id}", ON_CALL_SMS)[0]
    )
    assert runtime.close_alert(alert.id, "coach@example.org", "Safe at the hospital.") == "done"
    assert runtime.close_alert(alert.id, "coach@example.org", "again") == "already"
    closed = runtime.alert(alert.id)
    assert closed is not None and closed.status == "closed"
    assert closed.close_note == "Safe at the hospital." and closed.escalate_at is None


def test_not_ok_after_a_crisis_tells_the_team_again_and_pauses_lessons_afresh(db_url: str) -> None:
    rig = Rig(db_url, start=datetime(2026, 3, 2, 10, 0, tzinfo=NY), **STAFF)
    try:
        for text in JOIN:
            rig.write(text)
        crisis(rig, "she has a knife and I'm scared")
        first_pause = rig.app.runtime.alert(rig.alerts()[0].id)
        assert first_pause is not None
        rig.tick(rig.now + timedelta(hours=4))  # the follow-up
        rig.now += timedelta(hours=1)
        rig.write("not ok")
        followup = rig.alerts()[-1]
        assert (followup.tier, followup.priority, followup.status) == ("followup", 2, "open")
        assert followup.escalate_at == rig.now + timedelta(minutes=10)
        with rig.app.ctx.db() as db:
            paused = db.scalar(select(m.Contact.paused_until))
        assert paused == rig.now + timedelta(hours=24)  # 24 h from "not ok", not from the crisis
    finally:
        rig.close()


@pytest.mark.parametrize("wanted", [True, False])
def test_distress_raises_a_lower_priority_alert_only_where_the_organisation_wants_it(
    db_url: str, wanted: bool
) -> None:
    rig = Rig(db_url, **STAFF, alert_on_distress=wanted)
    try:
        sent = rig.write("he smashed the tv and punched a hole in the wall")
        assert sent[0].startswith(f"{FAMILY}: Anger like that")
        alerts = rig.alerts()
        staff = [line for line in sent if not line.startswith(FAMILY)]
        if not wanted:
            assert alerts == [] and staff == []
            return
        [alert] = alerts
        assert (alert.tier, alert.priority, alert.category, alert.escalate_at) == (
            "distress",
            3,
            "rage",
            None,  # a lower priority: told once, never escalated
        )
        assert "(normal)" in staff[0] and "Distress (rage)" in staff[0]
        assert not any("has been told" in line for line in sent)  # the family is not told so
        assert rig.tick(TWO_AM + timedelta(hours=1)) == []
    finally:
        rig.close()


def test_with_nobody_on_call_no_reply_claims_a_person_knows(db_url: str) -> None:
    rig = Rig(db_url)
    try:
        sent = rig.write("he's not breathing")
        assert len(sent) == 1 and sent[0].startswith(f"{FAMILY}: Call 911 now")
        [alert] = rig.alerts()
        assert (alert.notified, alert.escalate_at, alert.status) == (False, None, "open")
        assert rig.tick(TWO_AM + timedelta(hours=1)) == []
    finally:
        rig.close()


def test_a_crisis_reply_that_could_not_be_delivered_makes_the_alert_urgent_again(
    rig: Rig,
) -> None:
    alert = crisis(rig)
    rig.write(f"ACK {alert.id}", ON_CALL_SMS)
    with rig.app.ctx.db.begin() as db:
        reply = db.scalar(
            select(m.OutboundMessage.id).where(
                m.OutboundMessage.address == FAMILY, m.OutboundMessage.kind == "crisis"
            )
        )
        assert reply is not None
        ids = undeliverable(
            rig.app.ctx, db, [Undelivered(alert.contact_id, reply, "21211 invalid number")], rig.now
        )
    assert len(ids) == 3  # the on-call list, on each of its channels
    asyncio.run(rig.app.dispatcher.drain(rig.now))
    notice = rig.sent[-1].text
    assert f"craftbot alert {alert.id} (urgent)" in notice and "could NOT be delivered" in notice
    found = rig.app.runtime.alert(alert.id)
    assert found is not None and "21211 invalid number" in found.notes[-1].text


def test_a_crisis_reply_the_carrier_took_but_never_delivered_tells_staff_once(rig: Rig) -> None:
    """Twilio takes a message, then reports it undelivered (a phone switched off for good, a
    number that cannot take texts); SendGrid bounces an email. The row was marked failed, but a
    family's crisis reply lost that way told nobody: only a refusal on the send did."""
    # given a family who said hello, then wrote in crisis; someone has taken the alert
    rig.write("hi")
    alert = crisis(rig)
    rig.write(f"ACK {alert.id}", ON_CALL_SMS)

    def row_of(kind: str) -> tuple[int, str]:
        with rig.app.ctx.db() as db:
            found = db.execute(
                select(m.OutboundMessage.id, m.OutboundMessage.provider_id)
                .where(m.OutboundMessage.address == FAMILY, m.OutboundMessage.kind == kind)
                .order_by(m.OutboundMessage.id)
            ).first()
        assert found is not None and found[1]
        return found[0], found[1]

    reply, sid = row_of("crisis")
    other, other_sid = row_of("normal")
    mark = len(rig.sent)

    # when the carrier reports an everyday message undelivered, then the crisis reply, twice
    def undelivered(provider_id: str, key: str) -> list[int]:
        report = DeliveryReport(key, "undelivered", provider_id=provider_id, detail="30003")
        return rig.app.runtime.record_reports("twilio", [report])

    assert undelivered(other_sid, f"{other_sid}:undelivered") == []
    notices = undelivered(sid, f"{sid}:undelivered")
    assert undelivered(sid, f"{sid}:undelivered") == []  # the provider's repeat
    asyncio.run(rig.app.dispatcher.dispatch(ids=notices, limit=len(notices)))

    # then the on-call list hears, once, that the family's crisis reply never arrived
    told = rig.sent[mark:]
    assert to(told) == sorted([ON_CALL_SMS, ON_CALL_EMAIL, ON_CALL_CHAT])
    assert all(f"craftbot alert {alert.id} (urgent)" in s.text for s in told)
    assert all("could NOT be delivered" in s.text for s in told)
    found = rig.app.runtime.alert(alert.id)
    assert found is not None and "reported it not delivered (undelivered, 30003)" in (
        found.notes[-1].text
    )
    assert rig.tick(rig.now + timedelta(minutes=10)) == []  # and not again
    with rig.app.ctx.db() as db:
        statuses = dict(
            db.execute(
                select(m.OutboundMessage.id, m.OutboundMessage.status).where(
                    m.OutboundMessage.id.in_([reply, other])
                )
            ).all()
        )
    assert statuses == {reply: "failed", other: "failed"}


def test_a_crisis_reply_stuck_on_a_channel_that_cannot_send_tells_staff_once(db_url: str) -> None:
    """A crisis reply never expires, so on a channel that is off (or a provider down for long)
    it waited for ever and nobody heard of it: staff only learnt of replies that failed for
    good."""
    # given Telegram is not configured, and a family writes in crisis there
    rig = Rig(db_url, on=("sms", "email"), **STAFF)
    try:
        rig.write("he's not breathing", "777001", channel="telegram")
        [alert] = rig.alerts()
        rig.write(f"ACK {alert.id}", ON_CALL_SMS)  # someone has it: no escalation meanwhile
        assert all(s.address != "777001" for s in rig.sent)  # the reply waits, unsent
        # when the minutes pass with the reply still unsent
        assert rig.tick(TWO_AM + timedelta(minutes=2)) == []
        late = rig.tick(TWO_AM + timedelta(minutes=6))
        # then the on-call list hears that the family's crisis reply has not gone, once
        assert to(late) == sorted([ON_CALL_SMS, ON_CALL_EMAIL])
        assert all(f"craftbot alert {alert.id} (urgent)" in s.text for s in late)
        found = rig.app.runtime.alert(alert.id)
        assert found is not None and "still not sent after 5 minutes" in found.notes[-1].text
        assert rig.tick(TWO_AM + timedelta(minutes=12)) == []
        # and the reply is still queued, to go as soon as the channel can send
        with rig.app.ctx.db() as db:
            status = db.scalar(
                select(m.OutboundMessage.status).where(
                    m.OutboundMessage.address == "777001", m.OutboundMessage.kind == "crisis"
                )
            )
        assert status == "queued"
    finally:
        rig.close()
