"""A crisis on every channel, through the real web app under uvicorn and the provider stand-ins.

The family's reply must reach the provider at once, the alert be recorded, and on-call staff be
told on SMS, Telegram and email with the family's address: for a new contact, mid-onboarding and
after STOP. (A small rig of its own, so it does not depend on tests/e2e.py.)
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from bot.app import App, build
from bot.settings import Settings
from bot.web.app import create_app
from storage import models as m
from tests.e2e import UNSUBSCRIBE_KEY, inbound_auth
from tests.standins import StandinServer
from tests.standins.sendgrid_api import SendGridStandin, inbound_parse_form
from tests.standins.signing import telegram_headers, twilio_headers
from tests.standins.telegram_api import TelegramStandin, text_update
from tests.standins.twilio_api import TwilioStandin, inbound_sms_form

pytestmark = pytest.mark.usefixtures("program_loaded_once")

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
SENDER, STAFF_SMS, STAFF_EMAIL, STAFF_CHAT = "+15550100", "+15550199", "oncall@example.org", "4242"
TELEGRAM_SECRET, INBOUND_SECRET = "crisis-telegram-secret", "crisis-inbound-secret"
FAMILY = {"sms": "+15550123", "telegram": "5550123", "email": "ana@example.org"}


@dataclass
class Providers:
    sms: TwilioStandin
    telegram: TelegramStandin
    email: SendGridStandin

    def of(self, channel: str) -> StandinServer:
        return {"sms": self.sms, "telegram": self.telegram, "email": self.email}[channel]

    def received_by(self, channel: str, address: str) -> list[str]:
        """The texts the provider accepted for this address, in order."""
        texts = []
        for item in self.of(channel).received:
            to = item.get("to") if channel != "telegram" else item.get("chat_id")
            if to == address or (isinstance(to, list) and address in to):
                texts.append(str(item.get("text") or item.get("body") or ""))
        return texts


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with TwilioStandin() as sms, TelegramStandin() as telegram, SendGridStandin() as email:
        yield Providers(sms, telegram, email)


@dataclass
class Web:
    """The web app as `craftbot serve` runs it, and the means to post to it as each provider
    does."""

    url: str
    app: App
    settings: Settings
    http: httpx.Client

    def write(self, channel: str, text: str, n: int) -> httpx.Response:
        """Post the family's n-th message as the provider would, signed; n makes the provider's
        id."""
        address = FAMILY[channel]
        if channel == "sms":
            form = inbound_sms_form(address, text, to=SENDER, message_sid=f"SM{n:032x}")
            url = f"{self.url}/webhooks/twilio/sms"
            return self.http.post(
                url, data=form, headers=twilio_headers(self.settings.twilio_auth_token, url, form)
            )
        if channel == "telegram":
            update = text_update(n, int(address), text, message_id=n)
            return self.http.post(
                "/webhooks/telegram",
                content=json.dumps(update),
                headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
            )
        form = inbound_parse_form(address, text, message_id=f"<m{n}@mail.example.org>")
        return self.http.post(
            "/webhooks/sendgrid/inbound",
            files={k: (None, v) for k, v in form.items()},
            headers=inbound_auth(INBOUND_SECRET),
        )

    def status(self, channel: str) -> str:
        with self.app.ctx.db() as db:
            return (
                db.scalar(select(m.Contact.status).where(m.Contact.channel == channel))
                or "(none yet)"
            )

    def settled(self) -> bool:
        with self.app.ctx.db() as db:
            return (
                db.scalar(
                    select(m.OutboundMessage.id).where(
                        m.OutboundMessage.status.in_(("queued", "sending"))
                    )
                )
                is None
            )

    def alerts(self) -> list[m.Alert]:
        with self.app.ctx.db() as db:
            return list(db.scalars(select(m.Alert)))


@pytest.fixture
def web(providers: Providers, tmp_path: Path) -> Iterator[Web]:
    for standin in (providers.sms, providers.telegram, providers.email):
        standin.reset()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        public_base_url=url,
        org_postal_address="PO Box 0123, Springfield",
        twilio_account_sid=providers.sms.account_sid,
        twilio_auth_token=providers.sms.auth_token,
        twilio_from_number=SENDER,
        twilio_api_base_url=providers.sms.url,
        telegram_bot_token=providers.telegram.token,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_base_url=providers.telegram.url,
        sendgrid_api_key=providers.email.api_key,
        sendgrid_from_email="coach@example.org",
        sendgrid_inbound_secret=INBOUND_SECRET,
        unsubscribe_signing_key=UNSUBSCRIBE_KEY,
        sendgrid_api_base_url=providers.email.url,
        staff_alert_sms=STAFF_SMS,
        staff_alert_email=STAFF_EMAIL,
        staff_alert_telegram=STAFF_CHAT,
        org_contact="call 555-0100",
        sms_rate_per_s=50.0,
        telegram_per_chat_interval_s=0.0,
        provider_timeout_s=5.0,
    )
    app = build(settings, clock=lambda: MONDAY_10AM)  # outside quiet hours: everyday replies go too
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app),
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the web app to start")
    with httpx.Client(base_url=url, timeout=10) as http:
        yield Web(url, app, settings, http)
    server.should_exit = True
    thread.join(timeout=10)


def wait_for(ready: Callable[[], Any], what: str, timeout_s: float = 10) -> float:
    """Poll until `ready()`; returns the seconds it took."""
    started = time.perf_counter()
    while not ready():
        if time.perf_counter() - started > timeout_s:
            raise AssertionError(f"waited {timeout_s} s for {what}")
        time.sleep(0.002)
    return time.perf_counter() - started


BEFORE = {"new contact": [], "mid-onboarding": ["hi", "yes"], "after STOP": ["hi", "STOP"]}
STATUS = {"new contact": "(none yet)", "mid-onboarding": "onboarding", "after STOP": "opted_out"}
AFTER = {
    "new contact": "new",
    "mid-onboarding": "new",
    "after STOP": "opted_out",
}  # joining starts afresh
FIRST_LINE = "Call 911 now if someone can't be woken"
TEAM_TOLD = "Our team at Family Support has been told and will reach out"


@pytest.mark.parametrize("situation", list(BEFORE))
@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_a_crisis_gets_the_reply_at_the_provider_an_alert_and_staff_on_every_channel(
    web: Web, providers: Providers, channel: str, situation: str
) -> None:
    # given a family in this situation on this channel
    for n, text in enumerate(BEFORE[situation]):
        assert web.write(channel, text, n + 1).status_code == 200
    wait_for(web.settled, "the earlier replies to go out")
    assert web.status(channel) == STATUS[situation]
    # when
    started = time.perf_counter()
    answered = web.write(channel, "he's not breathing", 99)
    wait_for(
        lambda: any(
            t.startswith(FIRST_LINE) for t in providers.received_by(channel, FAMILY[channel])
        ),
        "the crisis reply at the provider",
    )
    took = time.perf_counter() - started
    print(
        f"\n{channel}, {situation}: the crisis reply reached the provider {1000 * took:.0f} ms "
        "after the webhook post"
    )
    wait_for(
        lambda: any(TEAM_TOLD in t for t in providers.received_by(channel, FAMILY[channel])),
        "'the team knows'",
    )
    # then the family had the overdose steps within a second, then word that the team knows
    assert answered.status_code == 200 and took < 1.0, f"{took:.3f} s"
    texts = providers.received_by(channel, FAMILY[channel])
    assert texts[-2].startswith(FIRST_LINE) and TEAM_TOLD in texts[-1]
    # an alert naming the words, and every on-call channel told how to reach the family
    [alert] = web.alerts()
    assert (alert.category, alert.matched, alert.text) == (
        "overdose",
        "not breathing",
        "he's not breathing",
    )
    for staff_channel, staff in (
        ("sms", STAFF_SMS),
        ("telegram", STAFF_CHAT),
        ("email", STAFF_EMAIL),
    ):
        wait_for(
            lambda c=staff_channel, a=staff: providers.received_by(c, a),
            f"the {staff_channel} staff notice",
        )  # type: ignore[misc]
        [notice] = providers.received_by(staff_channel, staff)
        assert f"Reply ACK {alert.id}" in notice and f"on {channel} {FAMILY[channel]}" in notice
        assert "he's not breathing" not in notice  # the family's words stay in the console
    assert web.status(channel) == AFTER[situation]
