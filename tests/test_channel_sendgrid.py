"""The SendGrid email adapter against the local Mail Send stand-in, and Inbound Parse reading."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.channels.base import OutboundMessage, SendOutcome
from bot.channels.sendgrid_email import SendGridEmail, parse_inbound_email
from tests.standins.sendgrid_api import SendGridStandin, inbound_parse_form

FAMILY = "sam@example.org"
UNSUBSCRIBE = "https://bot.example.org/unsubscribe/abc123"


@pytest.fixture(scope="module")
def standin() -> Iterator[SendGridStandin]:
    server = SendGridStandin().start()
    yield server
    server.stop()


@pytest.fixture
def sendgrid(standin: SendGridStandin) -> SendGridStandin:
    standin.reset()
    return standin


def make_email(
    server: SendGridStandin, key: str | None = None, base_url: str | None = None
) -> SendGridEmail:
    return SendGridEmail(
        key or server.api_key,
        "coach@example.org",
        org_name="Example Family Support",
        org_postal_address="1 Example Street, Springfield 00000",
        api_base_url=base_url or server.url,
        timeout_s=0.5,
    )


@pytest.fixture
async def mailer(sendgrid: SendGridStandin) -> AsyncIterator[SendGridEmail]:
    channel = make_email(sendgrid)
    yield channel
    await channel.aclose()


def outbound(
    to: str = FAMILY,
    subject: str | None = "Tonight's check-in",
    unsubscribe_url: str | None = UNSUBSCRIBE,
) -> OutboundMessage:
    return OutboundMessage(
        id=42,
        channel="email",
        address=to,
        text="Was today a use or non-use day?",
        subject=subject,
        unsubscribe_url=unsubscribe_url,
    )


async def test_send_delivers_text_footer_unsubscribe_headers_and_outbox_id(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    # when
    result = await mailer.send(outbound())
    # then
    assert result.outcome is SendOutcome.SENT
    [got] = sendgrid.received
    assert result.provider_id == got["message_id"]
    assert (got["to"], got["from"], got["subject"]) == (
        [FAMILY],
        "coach@example.org",
        "Tonight's check-in",
    )
    assert got["raw"]["from"]["name"] == "Example Family Support"
    assert got["text"].startswith("Was today a use or non-use day?\n\n-- \n")
    assert "1 Example Street, Springfield 00000" in got["text"]
    assert f"To stop these emails: {UNSUBSCRIBE}" in got["text"]
    assert got["headers"] == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert got["custom_args"] == {"outbox_id": "42"}
    assert got["html"] is None


async def test_a_picture_is_attached_under_a_name_that_names_no_one(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    message = OutboundMessage(
        id=43, channel="email", address=FAMILY, text="Your week in brief.", picture=picture
    )
    result = await mailer.send(message)
    assert result.outcome is SendOutcome.SENT
    [got] = sendgrid.received
    [attached] = got["raw"]["attachments"]
    assert (attached["filename"], attached["type"]) == ("four-weeks.png", "image/png")
    assert base64.b64decode(attached["content"]) == picture
    assert got["text"].startswith("Your week in brief.")


async def test_a_message_without_subject_gets_the_default(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    await mailer.send(outbound(subject=None))
    assert sendgrid.received[0]["subject"] == "A note from Example Family Support"


async def test_an_invalid_address_is_an_invalid_address(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    sendgrid.mark_invalid("gone@example.org")
    result = await mailer.send(outbound(to="gone@example.org"))
    assert result.outcome is SendOutcome.INVALID_ADDRESS
    assert "valid address" in result.detail


async def test_a_bad_api_key_is_misconfigured(sendgrid: SendGridStandin) -> None:
    channel = make_email(sendgrid, key="SG.wrong")
    result = await channel.send(outbound())
    await channel.aclose()
    assert result.outcome is SendOutcome.MISCONFIGURED
    assert sendgrid.received == []


async def test_server_error_is_retried_and_the_next_send_goes_through(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    sendgrid.fail_next(1)
    first = await mailer.send(outbound())
    second = await mailer.send(outbound())
    assert (first.outcome, second.outcome) == (SendOutcome.RETRY, SendOutcome.SENT)
    assert sendgrid.faults_served == 1 and len(sendgrid.received) == 1


async def test_throttling_is_retried_after_the_seconds_sendgrid_asks(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    sendgrid.throttle_next(1, retry_after_s=4)
    result = await mailer.send(outbound())
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after_s == 4


async def test_a_hung_request_times_out_as_retry(
    mailer: SendGridEmail, sendgrid: SendGridStandin
) -> None:
    sendgrid.hang_next(1, hang_s=1.0)
    result = await mailer.send(outbound())
    assert result.outcome is SendOutcome.RETRY
    assert "in time" in result.detail


async def test_an_unreachable_api_is_retry(sendgrid: SendGridStandin) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = make_email(sendgrid, base_url=f"http://127.0.0.1:{port}")
    result = await channel.send(outbound())
    await channel.aclose()
    assert result.outcome is SendOutcome.RETRY


def test_inbound_reply_gives_lowercased_address_and_the_words_above_the_thread() -> None:
    # given a reply with "non-use" typed above the quoted check-in
    text = (
        "non-use\n\nOn Tue, Mar 4, 2025 at 7:00 PM CraftBot <coach@example.org> wrote:\n"
        "> Was today a use or non-use day?\n"
    )
    form = inbound_parse_form(
        from_="Sam Rivera <Sam@Example.org>", text=text, message_id="<reply-1@mail.example.org>"
    )
    # when
    message = parse_inbound_email(form)
    # then
    assert message is not None
    assert (message.channel, message.address, message.text) == (
        "email",
        "sam@example.org",
        "non-use",
    )
    assert message.provider_id == "<reply-1@mail.example.org>"


def test_inbound_html_only_email_is_read_without_its_quote() -> None:
    form = inbound_parse_form(
        from_="sam@example.org",
        text="",
        html="<div>unsure</div><blockquote>Was today a use day?</blockquote>",
    )
    message = parse_inbound_email(form)
    assert message is not None and message.text == "unsure"


def test_inbound_without_message_id_gets_a_stable_hash() -> None:
    form = inbound_parse_form(from_="sam@example.org", text="non-use")
    form["headers"] = "Subject: Re: Tonight's check-in"
    first, again = parse_inbound_email(form), parse_inbound_email(dict(form))
    assert first is not None and again is not None
    assert first.provider_id.startswith("sha256:") and first.provider_id == again.provider_id


def test_the_same_words_on_another_day_without_message_id_are_not_a_repeat() -> None:
    """Without a Message-ID the dedupe key was a hash of the sender, subject and words: a
    family answering "non-use" to the check-in on Monday and again on Tuesday sent the same
    three, and Tuesday's answer was dropped as a provider retry. A retry posts the same headers
    (its Received lines and Date); a new email has its own."""
    forms = []
    for day, hop in (("Mon, 2 Mar 2026 20:01:00 -0500", "id 1a"), ("Tue, 3 Mar 2026", "id 2b")):
        form = inbound_parse_form(from_="sam@example.org", text="non-use")
        form["headers"] = (
            f"Received: from mail.example.org by mx.example.net with ESMTP {hop}\n"
            f"Date: {day}\nSubject: Re: Tonight's check-in"
        )
        forms.append(form)
    monday, tuesday = (parse_inbound_email(f) for f in forms)
    assert monday is not None and tuesday is not None
    assert monday.provider_id != tuesday.provider_id
    again = parse_inbound_email(dict(forms[0]))  # SendGrid posting Monday's again
    assert again is not None and again.provider_id == monday.provider_id


def test_inbound_raw_mode_reads_the_mime_message() -> None:
    raw = (
        "From: Sam <sam@example.org>\nTo: coach@inbound.example.org\nSubject: Re: check-in\n"
        "Message-ID: <raw-1@mail.example.org>\nContent-Type: text/plain; charset=utf-8\n\n"
        "non-use\n\n> Was today a use or non-use day?\n"
    )
    form = {"from": "Sam <sam@example.org>", "email": raw, "to": "coach@inbound.example.org"}
    message = parse_inbound_email(form)
    assert message is not None
    assert (message.text, message.provider_id) == ("non-use", "<raw-1@mail.example.org>")


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("unknown-8bit", ""), ("x-no-such-charset", "quoted-printable"), ("hex", ""), ("rot13", "")],
)
def test_inbound_raw_mode_reads_a_part_whatever_charset_it_names(
    charset: str, encoding: str
) -> None:
    """Real mail names charsets Python has no codec for ("unknown-8bit") or codecs that are not
    text encodings; the words are still read (it was a LookupError: a 500, the crisis unread)."""
    raw = (
        "From: Sam <sam@example.org>\nSubject: help\nMessage-ID: <raw-2@mail.example.org>\n"
        f"Content-Type: text/plain; charset={charset}\n"
        + (f"Content-Transfer-Encoding: {encoding}\n" if encoding else "")
        + "\nhe is not breathing\n"
    )
    message = parse_inbound_email({"from": "sam@example.org", "email": raw})
    assert message is not None and message.text == "he is not breathing"


def test_an_out_of_office_reply_is_not_read() -> None:
    form = inbound_parse_form(from_="sam@example.org", text="I am away until Monday.")
    form["headers"] += "\nAuto-Submitted: auto-replied"
    assert parse_inbound_email(form) is None


def test_a_quote_with_nothing_new_is_not_read() -> None:
    form = inbound_parse_form(from_="sam@example.org", text="> Was today a use or non-use day?\n")
    assert parse_inbound_email(form) is None


def test_an_inbound_email_without_a_sender_is_malformed() -> None:
    with pytest.raises(ValueError, match="sender address"):
        parse_inbound_email({"from": "nobody", "text": "hi"})
