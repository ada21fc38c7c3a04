"""Retention with a moved clock: past RETENTION_DAYS the words of messages and answered questions
are erased and their rows kept for the stats; a message not yet sent, an open question and an
alert not closed for the whole time keep theirs. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade

pytestmark = pytest.mark.usefixtures("program_loaded_once")

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SAID = ["hi", "yes", "Ana", "1", "no", "Jake", "eastern", "9am", "7pm"]
CRISIS = "he took too many pills and won't wake up"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db_url: str, clock: Clock) -> Iterator[App]:
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    built = build(Settings(database_url=db_url, retention_days=30), channels={}, clock=clock)
    for n, words in enumerate([*SAID, CRISIS]):
        clock.now = START + timedelta(minutes=n)
        built.runtime.handle_inbound(InboundMessage("sms", "+15550150", words, f"SM{n}"))
    with built.ctx.db.begin() as db:  # given: every reply was sent, but one still waits
        db.execute(update(m.OutboundMessage).values(status="delivered"))
        last = db.scalar(select(func.max(m.OutboundMessage.id)))
        db.execute(
            update(m.OutboundMessage).where(m.OutboundMessage.id == last).values(status="queued")
        )
    yield built
    built.engine.dispose()


def words(app: App) -> dict[str, list[str]]:
    with app.ctx.db() as db:
        return {
            "in": list(db.scalars(select(m.InboundMessage.text).order_by(m.InboundMessage.id))),
            "out": list(db.scalars(select(m.OutboundMessage.text).order_by(m.OutboundMessage.id))),
            "alert": list(db.scalars(select(m.Alert.text))),
        }


def test_words_go_after_the_retention_time_and_the_rows_stay(app: App, clock: Clock) -> None:
    before = words(app)
    assert before["in"] == [*SAID, CRISIS] and before["alert"] == [CRISIS]

    clock.now = START + timedelta(days=29)  # not yet
    assert app.runtime.erase_expired() == 0
    assert words(app) == before

    clock.now = START + timedelta(days=31)
    assert app.runtime.erase_expired() > 0
    after = words(app)
    assert after["in"] == [""] * len(SAID + [CRISIS])  # the rows stay, for the stats
    assert after["out"][:-1] == [""] * (len(before["out"]) - 1)
    assert after["out"][-1] == before["out"][-1] != ""  # not sent yet: its words stay
    assert after["alert"] == [CRISIS]  # never closed: kept
    assert app.runtime.erase_expired() == 0  # nothing left to erase: the pass is idempotent


def test_an_alert_keeps_its_words_until_closed_for_the_retention_time(
    app: App, clock: Clock
) -> None:
    with app.ctx.db() as db:
        alert_id = db.scalars(select(m.Alert.id)).one()
    clock.now = START + timedelta(days=40)
    assert app.runtime.close_alert(alert_id, "coach@example.org", "spoke with Ana")
    app.runtime.note_alert(alert_id, "coach@example.org", "she is safe")
    clock.now = START + timedelta(days=69)
    app.runtime.erase_expired()
    assert words(app)["alert"] == [CRISIS]
    clock.now = START + timedelta(days=71)
    app.runtime.erase_expired()
    with app.ctx.db() as db:
        alert = db.get(m.Alert, alert_id)
        notes = db.scalars(select(m.AlertNote.text)).all()
    assert alert is not None
    assert (alert.text, alert.matched, alert.close_note) == ("", "", None)
    assert (alert.status, alert.category) == ("closed", "overdose")  # what the stats count
    assert notes == [""]


def test_the_audit_log_keeps_who_did_what_and_loses_the_notes(app: App, clock: Clock) -> None:
    with app.ctx.db.begin() as db:
        for action, detail in (("alert.close", "spoke with Ana"), ("staff.add", "role coach")):
            db.add(
                m.AuditEntry(
                    at=START,
                    staff_email="coach@example.org",
                    action=action,
                    target="alert",
                    target_id="1",
                    detail=detail,
                )
            )
    clock.now = START + timedelta(days=31)
    app.runtime.erase_expired()
    with app.ctx.db() as db:
        kept = db.execute(select(m.AuditEntry.action, m.AuditEntry.detail)).all()
    assert sorted(kept) == [("alert.close", ""), ("staff.add", "role coach")]
