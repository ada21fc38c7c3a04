"""The Twilio SMS adapter against the local Twilio stand-in, and the inbound SMS parser."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException

from bot.channels.base import OutboundMessage, SendOutcome
from bot.channels.twilio_sms import (
    TwilioSMS,
    classify_twilio_error,
    parse_inbound_sms,
    parse_retry_after,
    to_e164,
)
from bot.channels.webhook_auth import public_url, twilio_signature_ok
from tests.standins import StandinServer
from tests.standins.twilio_api import TwilioStandin, inbound_sms_form

FAMILY = "+15550123"
SENDER = "+15550100"


@pytest.fixture(scope="module")
def standin() -> Iterator[TwilioStandin]:
    server = TwilioStandin().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(standin: TwilioStandin) -> TwilioStandin:
    standin.reset()
    return standin


def make_sms(server: TwilioStandin, token: str | None = None, **kwargs: object) -> TwilioSMS:
    options: dict[str, object] = {"from_number": SENDER, "timeout_s": 0.5}
    options.update(kwargs)
    return TwilioSMS(
        server.account_sid,
        token or server.auth_token,
        api_base_url=server.url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def sms(twilio: TwilioStandin) -> AsyncIterator[TwilioSMS]:
    channel = make_sms(twilio, status_callback_url="https://bot.example.org/webhooks/twilio/status")
    yield channel
    await channel.aclose()


def outbound(
    text: str = "Tonight, one kind sentence is enough.", to: str = FAMILY
) -> OutboundMessage:
    return OutboundMessage(id=1, channel="sms", address=to, text=text)


async def test_send_reaches_twilio_with_sender_body_and_callback(
    sms: TwilioSMS, twilio: TwilioStandin
) -> None:
    # when
    result = await sms.send(outbound())
    # then
    assert result.outcome is SendOutcome.SENT
    assert result.provider_id is not None and re.fullmatch(r"SM[0-9a-f]{32}", result.provider_id)
    [got] = twilio.received
    assert got == {
        "sid": result.provider_id,
        "to": FAMILY,
        "from": SENDER,
        "messaging_service_sid": None,
        "body": "Tonight, one kind sentence is enough.",
        # the callback names our row: a report may come before the send is recorded
        "status_callback": "https://bot.example.org/webhooks/twilio/status?outbox_id=1",
    }


async def test_send_through_a_messaging_service_names_no_from_number(twilio: TwilioStandin) -> None:
    # given
    service = "MG" + "1" * 32
    channel = TwilioSMS(
        twilio.account_sid,
        twilio.auth_token,
        messaging_service_sid=service,
        api_base_url=twilio.url + "/",
        timeout_s=0.5,
    )
    # when
    result = await channel.send(outbound())
    await channel.aclose()
    # then
    assert result.outcome is SendOutcome.SENT
    [got] = twilio.received
    assert got["messaging_service_sid"] == service and got["from"] is None


async def test_opted_out_recipient_is_opted_out(sms: TwilioSMS, twilio: TwilioStandin) -> None:
    twilio.opt_out(FAMILY)
    result = await sms.send(outbound())
    assert result.outcome is SendOutcome.OPTED_OUT
    assert "21610" in result.detail
    assert twilio.received == []


async def test_invalid_number_is_an_invalid_address(sms: TwilioSMS, twilio: TwilioStandin) -> None:
    twilio.mark_invalid("+15550199")
    result = await sms.send(outbound(to="+15550199"))
    assert result.outcome is SendOutcome.INVALID_ADDRESS
    assert "21211" in result.detail


async def test_wrong_auth_token_is_misconfigured(twilio: TwilioStandin) -> None:
    channel = make_sms(twilio, token="not-the-token")
    result = await channel.send(outbound())
    await channel.aclose()
    assert result.outcome is SendOutcome.MISCONFIGURED
    assert "20003" in result.detail
    assert twilio.count("refused") == 1


async def test_server_error_is_retried_and_the_next_send_goes_through(
    sms: TwilioSMS, twilio: TwilioStandin
) -> None:
    # given
    twilio.fail_next(1, status=503)
    # when
    first = await sms.send(outbound())
    second = await sms.send(outbound())
    # then
    assert first.outcome is SendOutcome.RETRY
    assert second.outcome is SendOutcome.SENT
    assert twilio.faults_served == 1 and len(twilio.received) == 1


async def test_throttling_is_retried_after_the_seconds_twilio_asks(
    sms: TwilioSMS, twilio: TwilioStandin
) -> None:
    twilio.throttle_next(1, retry_after_s=7)
    result = await sms.send(outbound())
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after_s == 7


async def test_a_hung_request_times_out_as_retry(sms: TwilioSMS, twilio: TwilioStandin) -> None:
    twilio.hang_next(1, hang_s=1.0)
    result = await sms.send(outbound())
    assert result.outcome is SendOutcome.RETRY
    assert "in time" in result.detail
    assert twilio.received == []


async def test_an_unreachable_api_is_retry() -> None:
    # given a loopback port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = TwilioSMS(
        "AC" + "0" * 32,
        "t",
        from_number=SENDER,
        api_base_url=f"http://127.0.0.1:{port}",
        timeout_s=0.5,
    )
    result = await channel.send(outbound())
    await channel.aclose()
    assert result.outcome is SendOutcome.RETRY


def test_a_channel_without_a_sender_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        TwilioSMS("AC" + "0" * 32, "t")


def test_retry_after_reads_seconds_and_ignores_nonsense() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+15550123", "+15550123"),
        ("+1 555-0123", "+15550123"),
        ("(555) 555-0123", "+15555550123"),
        ("+44 20 7946 0123", "+442079460123"),
        ("not a number", None),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, expected: str | None) -> None:
    assert to_e164(raw) == expected


def test_inbound_sms_gives_address_text_and_message_sid() -> None:
    form = inbound_sms_form(from_="+15550123", body="  non-use today ", message_sid="SM" + "a" * 32)
    message = parse_inbound_sms(form)
    assert message is not None
    assert (message.channel, message.address, message.text) == ("sms", "+15550123", "non-use today")
    assert message.provider_id == "SM" + "a" * 32
    assert message.keyword_hint is None


def test_inbound_sms_carries_twilio_opt_out_type_as_keyword_hint() -> None:
    form = inbound_sms_form(from_="+15550123", body="Stop", opt_out_type="STOP")
    message = parse_inbound_sms(form)
    assert message is not None and message.keyword_hint == "STOP" and message.text == "Stop"


def test_picture_only_sms_gives_nothing_to_read() -> None:
    assert parse_inbound_sms(inbound_sms_form(from_="+15550123", body="")) is None


@pytest.mark.parametrize("sender", ["whatsapp:+15550123", "messenger:1234567890", "rcs:+15550123"])
def test_a_message_from_another_twilio_channel_is_not_taken_as_an_sms(sender: str) -> None:
    """ "whatsapp:+15550123" was read as the SMS number +15550123: the bot answered, and went on
    messaging, by SMS a phone that never wrote to it by SMS."""
    form = inbound_sms_form(from_=sender, body="hi")
    assert parse_inbound_sms(form) is None


def test_inbound_sms_without_message_sid_is_malformed() -> None:
    form = inbound_sms_form(from_="+15550123", body="hi")
    del form["MessageSid"], form["SmsMessageSid"]
    with pytest.raises(ValueError, match="MessageSid"):
        parse_inbound_sms(form)


class CallbackReceiver(StandinServer):
    """Our side of a status callback: records each form with whether its signature checked out."""

    def __init__(self, auth_token: str) -> None:
        super().__init__()
        self.auth_token = auth_token

    def routes(self) -> list[Any]:
        return [Route("/webhooks/twilio/status", self.status, methods=["POST"])]

    async def status(self, request: Request) -> Response:
        form = await request.form()
        url = public_url(self.url, "/webhooks/twilio/status", request.url.query)
        genuine = twilio_signature_ok(
            self.auth_token, url, form, request.headers.get("X-Twilio-Signature")
        )
        self._record(
            {"status": form["MessageStatus"], "sid": form["MessageSid"], "genuine": genuine}
        )
        return Response(status_code=200 if genuine else 403)


async def test_stand_in_reports_delivery_to_the_status_callback_signed() -> None:
    # given a stand-in that reports sent then delivered, and our callback endpoint
    with (
        TwilioStandin(callback_statuses=("sent", "delivered")) as server,
        CallbackReceiver(server.auth_token) as receiver,
    ):
        channel = make_sms(server, status_callback_url=receiver.url + "/webhooks/twilio/status")
        # when
        result = await channel.send(outbound())
        await channel.aclose()
        for _ in range(100):
            if server.count("callbacks") + server.count("callback_failures") >= 2:
                break
            await asyncio.sleep(0.02)
        # then
        assert receiver.received == [
            {"status": s, "sid": result.provider_id, "genuine": True} for s in ("sent", "delivered")
        ]
        assert server.count("callback_failures") == 0


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        # the sender's queue is full (10 hours of sends): try again later, Twilio's docs say
        (400, 21611, SendOutcome.RETRY),
        (400, 30001, SendOutcome.RETRY),  # a Messaging Service's queue overflowed
        (400, 63038, SendOutcome.RETRY),  # the account's daily limit: the next day
        (429, 63017, SendOutcome.RETRY),  # the account's 2,000 messages a second
        (400, 21617, SendOutcome.REJECTED),  # the body is too long: it would fail every time
    ],
)
def test_a_full_queue_or_a_limit_is_retried_not_a_permanent_refusal(
    status: int, code: int, outcome: SendOutcome
) -> None:
    """21611 came back as a 400 and was taken for a refusal of the message itself: every SMS of
    a busy morning past the sender's queue failed for good ("rejected") instead of waiting."""
    exc = TwilioRestException(status, "https://api.twilio.com/Messages.json", "", code)
    assert classify_twilio_error(exc).outcome is outcome
