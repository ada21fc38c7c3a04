"""Whatever a provider sends, what we store fits the database: PostgreSQL refuses NUL in text and
any database refuses text that is not UTF-8. Run on SQLite and on PostgreSQL.

Before, "he is not breathing\\x00" by Telegram was a 500 on PostgreSQL: nothing stored, and no
crisis reply.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.channels.sendgrid_email import parse_inbound_email
from bot.channels.telegram import parse_update
from bot.channels.twilio_sms import parse_inbound_sms
from bot.settings import Settings
from bot.web.status import sendgrid_report
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from tests.standins.sendgrid_api import inbound_parse_form
from tests.standins.telegram_api import text_update
from tests.standins.twilio_api import inbound_sms_form

pytestmark = pytest.mark.usefixtures("program_loaded_once")


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    built = build(Settings(database_url=db_url), channels={})
    yield built
    built.engine.dispose()


def hostile(words: str) -> dict[str, InboundMessage]:
    email = inbound_parse_form(
        "nul@example.org", words, message_id="<" + "x" * 400 + "@example.org>"
    )
    parsed = {
        "telegram": parse_update(text_update(9001, 5550190, words)),
        "sms": parse_inbound_sms(inbound_sms_form("+15550190", words)),
        "email": parse_inbound_email(email),
    }
    assert all(isinstance(p, InboundMessage) for p in parsed.values())
    return parsed  # type: ignore[return-value]


@pytest.mark.parametrize("channel", ["telegram", "sms", "email"])
def test_a_nul_still_gets_its_crisis_reply_and_is_stored_without_it(app: App, channel: str) -> None:
    result = app.runtime.handle_inbound(hostile("he is not breathing\x00")[channel])
    assert result.crisis_ids, "the crisis reply was queued"
    with app.ctx.db() as db:
        stored = db.scalars(select(m.InboundMessage.text)).all()
    assert stored == ["he is not breathing"]


def test_lone_surrogates_and_long_ids_are_kept_as_storable_text(app: App) -> None:
    message = hostile("he is \ud800 not breathing \ud83d\ude00")["email"]
    assert message.text == "he is \ufffd not breathing \U0001f600"
    assert len(message.provider_id) <= 255
    assert app.runtime.handle_inbound(message).crisis_ids


def test_a_delivery_report_with_hostile_text_is_recorded(app: App) -> None:
    report = sendgrid_report(
        {
            "event": "bounce",
            "sg_event_id": "e\x00" + "1" * 400,
            "reason": "no\x00 \ud800 mailbox",
            "outbox_id": "9" * 30,
        }
    )
    app.runtime.record_reports("sendgrid", [report])  # raised on PostgreSQL before
    assert report.outbox_id is None and "\x00" not in report.detail
