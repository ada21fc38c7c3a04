"""End-to-end rig: the real web app under uvicorn on 127.0.0.1, real SDKs, the three provider
stand-ins.

One `Stack` is what `craftbot serve` runs in one process: the web app answers signed webhooks and
dispatches replies right after; the test plays the worker (`tick`) on the server's own event loop,
because the adapters' HTTP clients belong to the loop that first used them. Time is a mutable clock.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from sqlalchemy import func, select
from twilio.request_validator import HMAC_SHA1

from bot.app import App, build
from bot.settings import Settings
from bot.web.app import create_app
from storage import models as m
from tests.standins.sendgrid_api import SendGridStandin, inbound_parse_form
from tests.standins.signing import SendGridEventSigner, telegram_headers, twilio_headers
from tests.standins.telegram_api import TelegramStandin, text_update
from tests.standins.twilio_api import TwilioStandin, inbound_sms_form

T = TypeVar("T")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)  # a Monday morning, outside quiet hours
SENDER = "+15550100"
TELEGRAM_SECRET = "e2e-telegram-secret_1"
INBOUND_SECRET = "e2e-inbound-secret"
UNSUBSCRIBE_KEY = "e2e-unsubscribe-signing-key-of-its-own-0123456789"
METRICS_TOKEN = "e2e-metrics-bearer-token-0123456789abcdef"
FROM_EMAIL = "coach@example.org"
INBOUND_ADDRESS = "coach@inbound.example.org"
ORG_POSTAL_ADDRESS = "PO Box 0123, Springfield, ST 00000"


@dataclass
class Clock:
    """The app's clock: tests move it; the web process and the worker read it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Providers:
    twilio: TwilioStandin
    telegram: TelegramStandin
    sendgrid: SendGridStandin
    signer: SendGridEventSigner

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[Providers]:
        with (
            TwilioStandin() as twilio,
            TelegramStandin() as telegram,
            SendGridStandin() as sendgrid,
        ):
            yield cls(twilio, telegram, sendgrid, SendGridEventSigner.generate())

    def reset(self) -> None:
        for standin in (self.twilio, self.telegram, self.sendgrid):
            standin.reset()
        self.twilio.callback_statuses = ()

    def settings(self, database_url: str, public_base_url: str, **overrides: Any) -> Settings:
        """Every channel configured, every *_API_BASE_URL pointing at a stand-in."""
        values: dict[str, Any] = {
            "database_url": database_url,
            "public_base_url": public_base_url,
            "org_name": "Family Support",
            "org_postal_address": ORG_POSTAL_ADDRESS,
            "default_timezone": "America/New_York",
            "twilio_account_sid": self.twilio.account_sid,
            "twilio_auth_token": self.twilio.auth_token,
            "twilio_from_number": SENDER,
            "twilio_api_base_url": self.twilio.url,
            "telegram_bot_token": self.telegram.token,
            "telegram_webhook_secret": TELEGRAM_SECRET,
            "telegram_api_base_url": self.telegram.url,
            "sendgrid_api_key": self.sendgrid.api_key,
            "sendgrid_from_email": FROM_EMAIL,
            "sendgrid_inbound_secret": INBOUND_SECRET,
            "unsubscribe_signing_key": UNSUBSCRIBE_KEY,
            "sendgrid_event_public_key": self.signer.public_key,
            "sendgrid_api_base_url": self.sendgrid.url,
            "provider_timeout_s": 5.0,
        }
        values.update(overrides)
        return Settings(**values)


class WebServer:
    """uvicorn serving an ASGI app on a loopback socket, on an event loop of its own thread."""

    def __init__(self, asgi: Any, sock: socket.socket, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        config = uvicorn.Config(
            asgi,
            **{
                "lifespan": "on",
                "log_level": "warning",
                "access_log": False,
                "timeout_graceful_shutdown": 1,
                **options,
            },
        )
        self.server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="e2e-web", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self._sock]))

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the web app did not start within 15 s")
            time.sleep(0.01)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self.loop.close()


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Stack:
    """The running app plus the means to talk to it as the providers do, and to look inside."""

    def __init__(
        self, providers: Providers, settings: Settings, app: App, server: WebServer, clock: Clock
    ) -> None:
        self.providers, self.settings, self.app, self.server, self.clock = (
            providers,
            settings,
            app,
            server,
            clock,
        )
        self.url = settings.public_base_url
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._update_ids = itertools.count(1000)

    # --- the providers calling us -------------------------------------------------------------
    def sms(
        self,
        from_: str,
        body: str,
        *,
        sid: str | None = None,
        algorithm: str = HMAC_SHA1,
        opt_out_type: str | None = None,
    ) -> httpx.Response:
        form = inbound_sms_form(from_, body, to=SENDER, message_sid=sid, opt_out_type=opt_out_type)
        url = f"{self.url}/webhooks/twilio/sms"
        return self.http.post(
            url,
            data=form,
            headers=twilio_headers(self.settings.twilio_auth_token, url, form, algorithm),
        )

    def twilio_status(
        self,
        sid: str,
        status: str,
        to: str,
        error_code: str | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """Twilio's status callback, to `url` (the StatusCallback the message was sent with)."""
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": to,
            "From": SENDER,
            "AccountSid": self.settings.twilio_account_sid,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            form["ErrorCode"] = error_code
        url = url or f"{self.url}/webhooks/twilio/status"
        return self.http.post(
            url, data=form, headers=twilio_headers(self.settings.twilio_auth_token, url, form)
        )

    def telegram(self, chat_id: int, text: str, *, update_id: int | None = None) -> httpx.Response:
        update = text_update(
            update_id if update_id is not None else next(self._update_ids), chat_id, text
        )
        return self.http.post(
            "/webhooks/telegram",
            content=json.dumps(update),
            headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
        )

    def email(
        self,
        from_: str,
        text: str,
        *,
        message_id: str | None = None,
        subject: str = "Re: Family Support: craftbot",
    ) -> httpx.Response:
        form = inbound_parse_form(
            from_, text, subject=subject, to=INBOUND_ADDRESS, message_id=message_id
        )
        return self.http.post(
            "/webhooks/sendgrid/inbound", files=multipart(form), headers=inbound_auth()
        )

    def sendgrid_events(
        self, events: list[dict[str, Any]], *, timestamp: int | None = None
    ) -> httpx.Response:
        raw = json.dumps(events).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        return self.http.post(
            "/webhooks/sendgrid/events",
            content=raw,
            headers={
                **self.providers.signer.headers(raw, stamp),
                "Content-Type": "application/json",
            },
        )

    # --- the worker, and time -----------------------------------------------------------------
    def settle(self, timeout_s: float = 20) -> None:
        """Wait until the web process has dispatched every reply that is due now."""
        deadline = time.monotonic() + timeout_s
        while self.due_in_outbox():
            if time.monotonic() > deadline:
                raise AssertionError(f"replies still unsent after {timeout_s} s")
            time.sleep(0.02)

    def due_in_outbox(self) -> int:
        with self.app.ctx.db() as db:
            return int(
                db.scalar(
                    select(func.count())
                    .select_from(m.OutboundMessage)
                    .where(
                        m.OutboundMessage.status.in_(("queued", "sending")),
                        m.OutboundMessage.not_before <= self.clock.now,
                    )
                )
                or 0
            )

    def tick(self) -> None:
        """One worker pass: fire due timers, then drain the outbox."""
        self.app.runtime.fire_due(self.clock.now)
        self.server.run(self.app.dispatcher.drain(self.clock.now))

    def advance_to(self, target: datetime) -> None:
        """Jump from one due moment to the next until `target`, ticking at each, as the worker
        would."""
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            self.clock.now = max(self.clock.now, due)
            self.tick()
        self.clock.now = max(self.clock.now, target)
        self.tick()

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self.clock.now + delta)

    def next_morning(self) -> None:
        """Move to 10:00 New York time tomorrow (or today, if it is earlier): well clear of quiet
        hours."""
        local = self.clock.now.astimezone(NEW_YORK)
        target = local.replace(hour=10, minute=0, second=0, microsecond=0)
        self.advance_to(target if target > local else target + timedelta(days=1))

    def until(self, channel: str, address: str, kind: str) -> None:
        """Move time to this contact's next timer of `kind` (lesson, checkin) and fire it."""
        with self.app.ctx.db() as db:
            due = db.scalar(
                select(m.Timer.due_at)
                .join(m.Contact)
                .where(
                    m.Contact.channel == channel, m.Contact.address == address, m.Timer.kind == kind
                )
            )
        if due is None:
            raise AssertionError(f"nothing of kind {kind!r} is scheduled for {channel} {address}")
        self.advance_to(due)

    def next_due(self) -> datetime | None:
        with self.app.ctx.db() as db:
            timer = db.scalar(select(func.min(m.Timer.due_at)))
            queued = db.scalar(
                select(func.min(m.OutboundMessage.not_before)).where(
                    m.OutboundMessage.status == "queued"
                )
            )
        candidates = [t for t in (timer, queued) if t is not None]
        if not candidates:
            return None
        due = min(candidates)
        return max(due, self.clock.now + timedelta(seconds=1)) if due <= self.clock.now else due

    # --- looking inside -----------------------------------------------------------------------
    def contact(self, channel: str, address: str) -> m.Contact | None:
        with self.app.ctx.db() as db:
            return db.scalar(
                select(m.Contact).where(m.Contact.channel == channel, m.Contact.address == address)
            )

    def checkins(self, channel: str, address: str) -> list[str]:
        with self.app.ctx.db() as db:
            return list(
                db.scalars(
                    select(m.Checkin.value)
                    .join(m.Contact)
                    .where(m.Contact.channel == channel, m.Contact.address == address)
                    .order_by(m.Checkin.id)
                )
            )

    def consents(self, channel: str, address: str) -> list[tuple[str, str, str]]:
        """(action, by, words) for every consent change, oldest first."""
        with self.app.ctx.db() as db:
            rows = db.scalars(
                select(m.Consent)
                .join(m.Contact)
                .where(m.Contact.channel == channel, m.Contact.address == address)
                .order_by(m.Consent.id)
            )
            return [(c.action, c.by, c.words) for c in rows]

    def outbox(self, **where: Any) -> list[m.OutboundMessage]:
        with self.app.ctx.db() as db:
            query = select(m.OutboundMessage).order_by(m.OutboundMessage.id)
            for column, value in where.items():
                query = query.where(getattr(m.OutboundMessage, column) == value)
            return list(db.scalars(query))

    def count(self, model: Any, *where: Any) -> int:
        with self.app.ctx.db() as db:
            return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def received(self, channel: str, address: str) -> list[dict[str, Any]]:
        """What the stand-in accepted for this address, in arrival order, as {id, text, ...}."""
        p = self.providers
        if channel == "sms":
            return [
                {"id": r["sid"], "text": r["body"], **r}
                for r in p.twilio.received
                if r["to"] == address
            ]
        if channel == "telegram":
            return [
                {"id": str(r["message_id"]), **r}
                for r in p.telegram.received
                if r["chat_id"] == address
            ]
        return [{"id": r["message_id"], **r} for r in p.sendgrid.received if address in r["to"]]

    def said(self, channel: str, address: str, since: int) -> list[str]:
        """The catalog ids of what the stand-in got for `address` after the first `since` messages.

        Every message must have reached the provider through a sent outbox row (matched by the
        provider's message id), so this checks the stand-in and the database agree. Listed in
        outbox order: one turn's replies are sent concurrently when rate limits are off, so their
        arrival order at the provider is not the order the bot wrote them in.
        """
        # By the channel's rows, not the address's: an erased family's goodbye (DELETE) keeps no
        # address once sent.
        by_provider_id = {r.provider_id: r for r in self.outbox(channel=channel) if r.provider_id}
        got = self.received(channel, address)[since:]
        missing = [g["text"][:60] for g in got if g["id"] not in by_provider_id]
        assert not missing, f"the provider got messages no outbox row records as sent: {missing}"
        rows = sorted((by_provider_id[g["id"]] for g in got), key=lambda r: r.id)
        return [r.message_id for r in rows]


@dataclass
class Family:
    """One family member on one channel: what they send, and what reached them since last asked."""

    stack: Stack
    channel: str
    address: str
    send: Callable[[str], httpx.Response]
    seen: int = 0
    slowest_s: float = 0.0  # the longest a webhook took to answer (Twilio gives up at 15 s)

    def say(self, text: str) -> list[str]:
        started = time.monotonic()
        answer = self.send(text)
        self.slowest_s = max(self.slowest_s, time.monotonic() - started)
        assert answer.status_code == 200, f"{text!r} got {answer.status_code}: {answer.text}"
        self.stack.settle()
        return self.news()

    def until(self, kind: str) -> list[str]:
        self.stack.until(self.channel, self.address, kind)
        return self.news()

    def wait(self, delta: timedelta) -> list[str]:
        self.stack.advance(delta)
        return self.news()

    def news(self) -> list[str]:
        ids = self.stack.said(self.channel, self.address, self.seen)
        self.seen += len(ids)
        return ids

    def texts(self) -> list[str]:
        return [str(r["text"]) for r in self.stack.received(self.channel, self.address)]

    def last_text(self) -> str:
        return self.texts()[-1]


def inbound_auth(secret: str = INBOUND_SECRET, user: str = "sendgrid") -> dict[str, str]:
    """The basic auth SendGrid sends for a Destination URL https://sendgrid:SECRET@host/..."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def multipart(form: dict[str, str]) -> dict[str, tuple[None, str]]:
    """Form fields as httpx multipart parts without filenames: how Inbound Parse posts."""
    return {key: (None, value) for key, value in form.items()}


@contextmanager
def running_stack(
    providers: Providers,
    tmp_path: Path,
    start: datetime = START,
    server_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> Iterator[Stack]:
    providers.reset()
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    database_url = overrides.pop("database_url", f"sqlite:///{tmp_path}/e2e.db")
    settings = providers.settings(database_url, url, **overrides)
    clock = Clock(start)
    app = build(settings, clock=clock, rate_limits=False)
    server = WebServer(create_app(app), sock, **(server_options or {}))
    server.start()
    stack = Stack(providers, settings, app, server, clock)
    try:
        yield stack
    finally:
        stack.http.close()
        server.stop()
