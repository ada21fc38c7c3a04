"""The outbox under provider faults: 500s, 429s, hangs, refusals and bad credentials.

Messages go in as the webhook puts them in (runtime.handle_inbound commits them to the outbox);
the worker's dispatcher sends them with the real SDKs to the stand-ins, on a clock the test moves
to each retry's due time. Every message must arrive in the end. Duplicates are counted: a request
the provider processed but whose answer never reached us (the client timed out) is sent again,
because the outbox cannot know it went: that is the at-least-once case, and the only one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.base import InboundMessage
from bot.runtime.outbox.dispatcher import LEASE_S, DispatchReport
from bot.runtime.outbox.outcomes import MISCONFIGURED_PAUSE
from storage import models as m
from tests.e2e import Providers, Stack, running_stack
from tests.standins import StandinServer
from tests.standins.sendgrid_api import SendGridStandin
from tests.standins.signing import SendGridEventSigner
from tests.standins.telegram_api import TelegramStandin
from tests.standins.twilio_api import TwilioStandin

CLIENT_TIMEOUT_S = 1.0  # a loaded CI machine answered a 500 later than 0.4 s: a resend, a duplicate
HANG_S = 2.0  # longer than the client waits
CHANNELS = ("sms", "telegram", "email")
ONBOARDING = ("yes", "Maria", "1", "no", "Jake", "eastern", "9am", "7pm")
_ids = itertools.count(1)


class AckLost(StandinServer):
    """A stand-in that can process a request and then answer too late: the provider got it, we never
    hear."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stall_lock = threading.Lock()
        self._stalls = 0

    def stall_after_accepting_next(self, n: int) -> None:
        with self._stall_lock:
            self._stalls += n

    def reset(self) -> None:
        super().reset()
        with self._stall_lock:
            self._stalls = 0

    def _take_stall(self) -> bool:
        with self._stall_lock:
            if self._stalls <= 0:
                return False
            self._stalls -= 1
            return True

    def routes(self) -> list[Any]:
        return [
            Route(r.path, self._stalling(r.endpoint), methods=list(r.methods or ["POST"]))
            for r in super().routes()
        ]

    def _stalling(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            await request.body()  # read it all while the client is still listening
            answer = await endpoint(request)
            if answer.status_code < 300 and self._take_stall():
                self._bump("stalled")
                await asyncio.sleep(HANG_S)
            return answer

        return handler


class AckLostTwilio(AckLost, TwilioStandin):
    pass


class AckLostTelegram(AckLost, TelegramStandin):
    pass


class AckLostSendGrid(AckLost, SendGridStandin):
    pass


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with AckLostTwilio() as twilio, AckLostTelegram() as telegram, AckLostSendGrid() as sendgrid:
        providers = Providers(twilio, telegram, sendgrid, SendGridEventSigner.generate())
        with running_stack(
            providers, tmp_path_factory.mktemp("faults"), provider_timeout_s=CLIENT_TIMEOUT_S
        ) as stack:
            for (
                channel
            ) in CHANNELS:  # the first Telegram send also calls getMe: get it done before faults
                say(stack, channel, address_for(channel), "hi")
            deliver_all(stack)
            yield stack


@pytest.fixture
def stack(running: Stack) -> Stack:
    running.providers.reset()
    running.next_morning()
    return running


def address_for(channel: str) -> str:
    n = next(_ids)
    return {
        "sms": f"+1555017{n:02d}",
        "telegram": str(5550170000 + n),
        "email": f"family{n}@example.org",
    }[channel]


def standin(stack: Stack, channel: str) -> AckLost:
    p = stack.providers
    return {"sms": p.twilio, "telegram": p.telegram, "email": p.sendgrid}[channel]  # type: ignore[return-value]


def say(stack: Stack, channel: str, address: str, text: str) -> None:
    """What the webhook does after its checks: dedupe, engine, outbox, commit."""
    stack.app.runtime.handle_inbound(InboundMessage(channel, address, text, f"fault-{next(_ids)}"))  # type: ignore[arg-type]


def deliver_all(stack: Stack, rounds: int = 40) -> list[DispatchReport]:
    """Drain; move the clock to the next retry's due time; again, until nothing is left queued."""
    reports = []
    for _ in range(rounds):
        reports.append(stack.server.run(stack.app.dispatcher.drain(stack.clock.now)))
        with stack.app.ctx.db() as db:
            due = db.scalar(
                select(func.min(m.OutboundMessage.not_before)).where(
                    m.OutboundMessage.status.in_(("queued", "sending"))
                )
            )
        if due is None:
            return reports
        stack.clock.now = max(stack.clock.now + timedelta(seconds=1), due)
    raise AssertionError(f"messages still queued after {rounds} rounds")


def many_join(stack: Stack, channel: str, n: int = 8) -> list[str]:
    addresses = [address_for(channel) for _ in range(n)]
    for address in addresses:
        say(stack, channel, address, "hi")
    return addresses


def duplicates(stack: Stack, channel: str, addresses: list[str]) -> int:
    got = Counter((a, r["text"]) for a in addresses for r in stack.received(channel, a))
    return sum(c - 1 for c in got.values())


def assert_all_delivered_once_at_least(stack: Stack, channel: str, addresses: list[str]) -> None:
    rows = [r for a in addresses for r in stack.outbox(channel=channel, address=a)]
    assert [r.status for r in rows] == ["sent"] * len(addresses), [r.last_error for r in rows]
    for row in rows:
        texts = {str(r["text"]) for r in stack.received(channel, row.address)}
        assert len(texts) == 1 and texts.pop().startswith(row.text), (
            row.address
        )  # email adds a footer


@pytest.mark.parametrize("channel", CHANNELS)
def test_500s_for_a_while_delay_but_lose_nothing_and_duplicate_nothing(
    stack: Stack, channel: str
) -> None:
    # given eight new members and a provider answering 500 to the next twelve requests
    addresses = many_join(stack, channel)
    standin(stack, channel).fail_next(12)

    # when the worker keeps dispatching as retries fall due
    reports = deliver_all(stack)

    # then every message arrived exactly once (a 500 means the provider did not take it)
    assert_all_delivered_once_at_least(stack, channel, addresses)
    assert duplicates(stack, channel, addresses) == 0
    assert standin(stack, channel).faults_served == 12
    assert sum(r.retried for r in reports) == 12


@pytest.mark.parametrize("channel", CHANNELS)
def test_429_with_retry_after_is_honoured_and_everything_arrives(
    stack: Stack, channel: str
) -> None:
    # given a provider that throttles the next five requests, asking us to wait 30 seconds
    addresses = many_join(stack, channel)
    standin(stack, channel).throttle_next(5, retry_after_s=30)
    started = stack.clock.now

    # when the worker dispatches once
    first = stack.server.run(stack.app.dispatcher.drain(started))

    # then the five throttled messages wait at least the 30 s asked for, and all arrive after that
    waiting = [
        r
        for a in addresses
        for r in stack.outbox(channel=channel, address=a)
        if r.status == "queued"
    ]
    assert first.retried == 5 and len(waiting) == 5
    assert all(r.not_before >= started + timedelta(seconds=30) for r in waiting)
    deliver_all(stack)
    assert_all_delivered_once_at_least(stack, channel, addresses)
    assert duplicates(stack, channel, addresses) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_hang_before_the_provider_takes_the_message_is_retried_without_duplicates(
    stack: Stack, channel: str
) -> None:
    # given a provider that hangs past our client timeout on the next four requests, then fails them
    addresses = many_join(stack, channel)
    standin(stack, channel).hang_next(4, hang_s=HANG_S)

    # when the worker dispatches, times out on four, and retries them later
    deliver_all(stack)

    # then all arrived, and none twice: the provider never took the hung requests
    assert_all_delivered_once_at_least(stack, channel, addresses)
    assert standin(stack, channel).count("fault:hang") == 4
    assert duplicates(stack, channel, addresses) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lost_answer_after_the_provider_took_the_message_gives_one_duplicate_each(
    stack: Stack, channel: str
) -> None:
    # given a provider that takes the next three messages but answers after our client gave up
    addresses = many_join(stack, channel)
    standin(stack, channel).stall_after_accepting_next(3)

    # when the worker dispatches, times out on three, and retries them later
    deliver_all(stack)

    # then all arrived; the three whose answer was lost arrived twice. At-least-once: the outbox
    # cannot tell "the provider took it and the answer was lost" from "the provider never got it".
    assert_all_delivered_once_at_least(stack, channel, addresses)
    assert standin(stack, channel).count("stalled") == 3
    assert duplicates(stack, channel, addresses) == 3


def onboard(stack: Stack, channel: str, address: str) -> None:
    for text in ("hi", *ONBOARDING):
        say(stack, channel, address, text)
        deliver_all(stack)
    assert stack.contact(channel, address).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "channel,refuse,words",
    [
        ("sms", lambda s, a: s.providers.twilio.opt_out(a), "21610"),
        ("telegram", lambda s, a: s.providers.telegram.block(a), "blocked by the user"),
    ],
)
def test_a_provider_opt_out_stops_the_contact_and_every_later_send(
    stack: Stack, channel: str, refuse: Callable[[Stack, str], None], words: str
) -> None:
    # given an active member who then replies STOP to the carrier (SMS) or blocks the bot (Telegram)
    address = address_for(channel)
    onboard(stack, channel, address)
    refuse(stack, address)
    received = len(stack.received(channel, address))

    # when the next lesson falls due, and then two more days pass
    stack.until(channel, address, "lesson")
    stack.advance(timedelta(days=2))

    # then the provider's refusal opted them out, on record, and nothing more was even tried
    assert stack.contact(channel, address).status == "opted_out"  # type: ignore[union-attr]
    action, by, said = stack.consents(channel, address)[-1]
    assert (action, by) == ("opt_out", "provider") and words in said
    refused = [
        r
        for r in stack.outbox(channel=channel, address=address)
        if (r.status, r.reason) == ("failed", "opted_out")
    ]
    assert len(refused) == 1
    later = [r for r in stack.outbox(channel=channel, address=address) if r.id > refused[0].id]
    assert all(r.attempts == 0 for r in later)
    assert len(stack.received(channel, address)) == received


CREDENTIALS = {"sms": "auth_token", "telegram": "token", "email": "api_key"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_bad_credentials_pause_the_channel_loudly_without_burning_retries(
    stack: Stack, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given the provider no longer accepts our credentials (rotated in its console, say)
    provider = standin(stack, channel)
    attribute = CREDENTIALS[channel]
    good = getattr(provider, attribute)
    setattr(provider, attribute, "rotated-elsewhere")
    addresses = many_join(stack, channel, 3)
    try:
        # when the worker dispatches, and again a minute later
        with caplog.at_level(logging.ERROR, logger="bot.runtime.outbox.outcomes"):
            stack.server.run(stack.app.dispatcher.drain(stack.clock.now))
        tried = provider.requests
        stack.clock.now += timedelta(minutes=1)
        stack.server.run(stack.app.dispatcher.drain(stack.clock.now))

        # then the channel is paused with an error naming it; the messages wait with no attempt used
        assert f"channel {channel} is misconfigured" in caplog.text
        assert provider.requests == tried, "a paused channel must not call the provider"
        rows = [r for a in addresses for r in stack.outbox(channel=channel, address=a)]
        assert [(r.status, r.attempts) for r in rows] == [("queued", 0)] * 3
    finally:
        setattr(provider, attribute, good)

    # when the operator has fixed it and the pause is over, everything goes
    stack.clock.now += MISCONFIGURED_PAUSE
    deliver_all(stack)
    assert_all_delivered_once_at_least(stack, channel, addresses)


def test_rows_a_dead_worker_had_claimed_are_sent_when_its_lease_runs_out(stack: Stack) -> None:
    # given three replies that a worker claimed and then died before calling the provider
    addresses = many_join(stack, "sms", 3)
    ids = [r.id for a in addresses for r in stack.outbox(channel="sms", address=a)]
    assert len(stack.app.dispatcher.claim(stack.clock.now, 10, ids)) == 3

    # when another worker dispatches at once, and again after the lease has run out
    early = stack.server.run(stack.app.dispatcher.drain(stack.clock.now))
    stack.clock.now += timedelta(seconds=LEASE_S + 1)
    late = deliver_all(stack)

    # then the claimed rows were left alone until the lease ended, then sent once each
    assert early.sent == 0
    assert sum(r.reclaimed for r in late) == 3
    assert_all_delivered_once_at_least(stack, "sms", addresses)
    assert duplicates(stack, "sms", addresses) == 0


# A refusal that would come again every time: Telegram's 400 (a message too long), a Twilio 400
# with a code we do not know, SendGrid's 413 (too large).
PERMANENT = {"sms": 400, "telegram": 400, "email": 413}


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_message_the_provider_can_never_take_fails_at_once(stack: Stack, channel: str) -> None:
    # given a provider that refuses the next message for good
    [address] = many_join(stack, channel, 1)
    standin(stack, channel).fail_next(1, PERMANENT[channel])

    # when the worker dispatches and keeps going as retries would fall due
    deliver_all(stack)

    # then the message failed on its first try, with the reason, and was not tried again
    [row] = stack.outbox(channel=channel, address=address)
    assert (row.status, row.reason, row.attempts) == ("failed", "rejected", 1)
    assert standin(stack, channel).faults_served == 1
    assert stack.received(channel, address) == []


def test_a_carrier_opt_out_reported_later_opts_the_family_out(stack: Stack) -> None:
    # given an active SMS family whose last message was sent
    address = address_for("sms")
    onboard(stack, "sms", address)
    row = [r for r in stack.outbox(channel="sms", address=address) if r.provider_id][-1]

    # when Twilio's status callback reports it failed with 21610 (the person texted STOP to
    # the carrier)
    answer = stack.twilio_status(str(row.provider_id), "failed", address, error_code="21610")

    # then the family is opted out, on record as the provider's doing
    assert answer.status_code == 204
    assert stack.contact("sms", address).status == "opted_out"  # type: ignore[union-attr]
    action, by, said = stack.consents("sms", address)[-1]
    assert (action, by) == ("opt_out", "provider") and "21610" in said
    [again] = stack.outbox(id=row.id)
    assert (again.status, again.reason) == ("failed", "failed")


def test_a_carrier_opt_out_reported_before_the_send_is_recorded_still_opts_out(
    stack: Stack,
) -> None:
    """A Messaging Service reports 21610 by status callback, and the callback can come before
    the worker has recorded the send (the row knows no MessageSid yet): the callback then named
    no message, its report was used up, and the family stayed active. The callback URL names
    our row, as SendGrid's custom argument does."""
    # given an active SMS family; Twilio was given a callback URL naming the row
    address = address_for("sms")
    onboard(stack, "sms", address)
    row = [r for r in stack.outbox(channel="sms", address=address) if r.provider_id][-1]
    [sent] = [g for g in stack.received("sms", address) if g["id"] == row.provider_id]
    assert sent["status_callback"].endswith(f"?outbox_id={row.id}")

    # when the callback arrives while the send is not recorded yet
    with stack.app.ctx.db.begin() as db:
        db.execute(
            update(m.OutboundMessage)
            .where(m.OutboundMessage.id == row.id)
            .values(provider_id=None, status="sending")
        )
    answer = stack.twilio_status(
        str(row.provider_id), "failed", address, error_code="21610", url=sent["status_callback"]
    )

    # then the family is opted out all the same
    assert answer.status_code == 204
    assert stack.contact("sms", address).status == "opted_out"  # type: ignore[union-attr]
    action, by, said = stack.consents("sms", address)[-1]
    assert (action, by) == ("opt_out", "provider") and "21610" in said


def test_a_report_on_the_first_of_two_sends_does_not_move_the_row_the_second_made(
    stack: Stack,
) -> None:
    """A row sent twice (the provider's answer was lost, then the retry went) keeps the second
    MessageSid. A late "undelivered" for the first send names the same row in its callback URL,
    but it is about the other message: the row stays as the second send left it."""
    address = address_for("sms")
    onboard(stack, "sms", address)
    row = [r for r in stack.outbox(channel="sms", address=address) if r.provider_id][-1]
    [sent] = [g for g in stack.received("sms", address) if g["id"] == row.provider_id]
    first_sid = "SM" + "0" * 32

    answer = stack.twilio_status(first_sid, "undelivered", address, url=sent["status_callback"])

    assert answer.status_code == 204
    [again] = stack.outbox(id=row.id)
    assert (again.status, again.reason, again.provider_id) == ("sent", None, row.provider_id)


@pytest.mark.parametrize(
    ("reason", "opted_out"),
    [
        ("Unsubscribed Address", True),
        ("Spam Reporting Address", True),
        ("Bounced Address", False),
        ("Invalid SMTPAPI header", False),
    ],
)
def test_an_email_dropped_because_the_person_unsubscribed_opts_the_family_out(
    stack: Stack, reason: str, opted_out: bool
) -> None:
    """SendGrid drops mail to an address on its unsubscribe or spam-report list and says so in
    the dropped event's reason: the email twin of Twilio's 21610 in a status callback. The
    family stayed active, and every later email was dropped the same way."""
    # given an active email family whose last message was sent
    address = address_for("email")
    onboard(stack, "email", address)
    row = [r for r in stack.outbox(channel="email", address=address) if r.provider_id][-1]

    # when SendGrid reports that message dropped, for this reason
    event = {"event": "dropped", "reason": reason, "outbox_id": str(row.id)}
    answer = stack.sendgrid_events([{**event, "sg_event_id": f"drop-{row.id}", "email": address}])

    # then the message failed, and the family is out only when the person asked to be
    assert answer.status_code == 200
    [again] = stack.outbox(id=row.id)
    assert again.status == "failed"
    status = stack.contact("email", address).status  # type: ignore[union-attr]
    assert status == ("opted_out" if opted_out else "active")
    if opted_out:
        action, by, said = stack.consents("email", address)[-1]
        assert (action, by) == ("opt_out", "provider") and reason in said


def test_one_entry_with_an_endless_outbox_id_does_not_lose_the_batch(stack: Stack) -> None:
    """A signed event batch whose one entry carries an outbox id of thousands of digits (past
    Python's limit for turning digits into a number) got a 500 for the whole batch, every retry
    of it too: the unsubscribe beside it was never honoured. That entry names no row of ours."""
    # given an active email family whose last message was sent
    address = address_for("email")
    onboard(stack, "email", address)
    row = [r for r in stack.outbox(channel="email", address=address) if r.provider_id][-1]

    # when SendGrid posts their spam report together with an entry no row can match
    report = {"event": "spamreport", "email": address, "outbox_id": str(row.id)}
    junk = {"event": "delivered", "email": address, "outbox_id": "9" * 5000}
    answer = stack.sendgrid_events(
        [{**report, "sg_event_id": f"spam-{row.id}"}, {**junk, "sg_event_id": f"junk-{row.id}"}]
    )

    # then the batch is taken and the family is out
    assert answer.status_code == 200
    assert stack.contact("email", address).status == "opted_out"  # type: ignore[union-attr]
    assert stack.consents("email", address)[-1][:2] == ("opt_out", "provider")


def test_an_email_event_moves_only_the_email_it_is_about(stack: Stack) -> None:
    """SendGrid's Event Webhook is the whole account's: it also reports mail that another app on
    the account sent (a second craftbot, a staging copy) with its own `outbox_id`. Such an event
    named our row of that number, whatever it was: a spam report from a stranger opted out a
    Telegram family, a bounce failed an SMS. An event moves only an email row, and only when it
    is about that row's address."""
    # given a family on each channel, each with a message sent
    families = {channel: address_for(channel) for channel in CHANNELS}
    for channel, address in families.items():
        onboard(stack, channel, address)
    rows = {
        channel: [r for r in stack.outbox(channel=channel, address=address) if r.provider_id][-1]
        for channel, address in families.items()
    }
    stranger = "someone.else@example.org"

    # when the account's webhook reports a spam report, a bounce and an unsubscribe drop, each
    # naming one of those rows, from mail to somebody else
    events = [
        {"event": kind, "reason": reason, "email": stranger, "outbox_id": str(rows[channel].id)}
        for channel in CHANNELS
        for kind, reason in (
            ("spamreport", ""),
            ("bounce", "550 5.1.1 unknown user"),
            ("dropped", "Unsubscribed Address"),
        )
    ]
    answer = stack.sendgrid_events(
        [{**e, "sg_event_id": f"foreign-{i}-{e['outbox_id']}"} for i, e in enumerate(events)]
    )

    # then nobody was opted out and every message stays as it was sent
    assert answer.status_code == 200
    for channel, address in families.items():
        assert stack.contact(channel, address).status == "active"  # type: ignore[union-attr]
        assert stack.outbox(id=rows[channel].id)[0].status == "sent", channel
