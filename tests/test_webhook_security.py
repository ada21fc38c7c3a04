"""Nobody but Twilio, Telegram and SendGrid gets a message in; bad input never breaks the app.

Every forged, unsigned or mis-addressed webhook is refused with 403 and leaves no trace: no
inbound row, no contact, no outbox row. Oversized bodies get 413, malformed ones a 4xx (or a
harmless 200), never a 500. A provider's retry of a real webhook is processed once.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256

from storage import models as m
from tests.e2e import (
    INBOUND_SECRET,
    SENDER,
    TELEGRAM_SECRET,
    Providers,
    Stack,
    inbound_auth,
    multipart,
    running_stack,
)
from tests.standins.sendgrid_api import inbound_parse_form
from tests.standins.signing import SendGridEventSigner, telegram_headers, twilio_headers
from tests.standins.telegram_api import text_update
from tests.standins.twilio_api import inbound_sms_form

MAX_BODY = 64_000
TABLES = (m.InboundMessage, m.Contact, m.OutboundMessage, m.Consent, m.ProviderEvent)
Post = Callable[[Stack], httpx.Response]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        Providers.running() as providers,
        running_stack(
            providers, tmp_path_factory.mktemp("security"), max_body_bytes=MAX_BODY
        ) as running,
    ):
        yield running


def footprint(stack: Stack) -> dict[str, int]:
    return {model.__tablename__: stack.count(model) for model in TABLES}


def sms_post(stack: Stack, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return stack.http.post("/webhooks/twilio/sms", data=form, headers=headers)


def forged_sms(
    sign_url: str | None = None,
    token: str | None = None,
    algorithm: str = HMAC_SHA1,
    tamper: bool = False,
    header_algorithm: str | None = None,
) -> Post:
    """A Twilio SMS webhook signed wrongly in one way."""

    def post(stack: Stack) -> httpx.Response:
        form = inbound_sms_form("+15550140", "hi")
        url = sign_url or f"{stack.url}/webhooks/twilio/sms"
        headers = twilio_headers(token or stack.settings.twilio_auth_token, url, form, algorithm)
        if header_algorithm is not None:
            headers["X-Twilio-Webhooks-Signature-Settings"] = (
                f"key=webhooks_sharedkey_x,algorithm={header_algorithm}"
            )
        if tamper:
            form = {**form, "Body": "STOP"}
        return sms_post(stack, form, headers)

    return post


def unsigned_sms(stack: Stack) -> httpx.Response:
    return sms_post(stack, inbound_sms_form("+15550140", "hi"), {})


def forged_status(stack: Stack) -> httpx.Response:
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    return stack.http.post(
        "/webhooks/twilio/status",
        data=form,
        headers=twilio_headers("not-the-auth-token", f"{stack.url}/webhooks/twilio/status", form),
    )


def telegram_with(headers: dict[str, str]) -> Post:
    def post(stack: Stack) -> httpx.Response:
        return stack.http.post(
            "/webhooks/telegram",
            content=json.dumps(text_update(7001, 5550140, "/start")),
            headers={**headers, "Content-Type": "application/json"},
        )

    return post


def inbound_email_at(path: str, auth: str | None = None) -> Post:
    def post(stack: Stack) -> httpx.Response:
        headers = {"Authorization": auth} if auth else {}
        return stack.http.post(
            path,
            files=multipart(inbound_parse_form("intruder@example.org", "hello")),
            headers=headers,
        )

    return post


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def events_signed(signer: SendGridEventSigner | None, age_s: int = 0, tamper: bool = False) -> Post:
    def post(stack: Stack) -> httpx.Response:
        raw = json.dumps(
            [
                {
                    "email": "x@example.org",
                    "event": "unsubscribe",
                    "sg_event_id": "forged-1",
                    "outbox_id": "1",
                }
            ]
        ).encode()
        stamp = str(int(time.time()) - age_s)
        headers = (signer or stack.providers.signer).headers(raw, stamp)
        body = raw.replace(b"unsubscribe", b"spamreport") if tamper else raw
        return stack.http.post(
            "/webhooks/sendgrid/events",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )

    return post


def unsigned_events(stack: Stack) -> httpx.Response:
    return stack.http.post(
        "/webhooks/sendgrid/events", content=b"[]", headers={"Content-Type": "application/json"}
    )


FORGERIES: dict[str, Post] = {
    "twilio unsigned": unsigned_sms,
    "twilio wrong auth token": forged_sms(token="someone-elses-token"),
    "twilio signed for another URL": forged_sms(
        sign_url="https://evil.example.org/webhooks/twilio/sms"
    ),
    "twilio signed for the proxied http URL": forged_sms(
        sign_url="http://10.0.0.7:8000/webhooks/twilio/sms"
    ),
    "twilio body changed after signing": forged_sms(tamper=True),
    "twilio SHA-1 signature claiming SHA-256": forged_sms(header_algorithm=HMAC_SHA256),
    "twilio SHA-256 signature without its settings header": forged_sms(
        algorithm=HMAC_SHA256, header_algorithm=""
    ),
    "twilio status callback forged": forged_status,
    "telegram without the secret header": telegram_with({}),
    "telegram wrong secret": telegram_with(telegram_headers("not-our-secret")),
    "telegram secret with different case": telegram_with(telegram_headers(TELEGRAM_SECRET.upper())),
    "sendgrid inbound without secret": inbound_email_at("/webhooks/sendgrid/inbound"),
    "sendgrid inbound wrong basic auth": inbound_email_at(
        "/webhooks/sendgrid/inbound", basic("sendgrid", "guess")
    ),
    "sendgrid events unsigned": unsigned_events,
    "sendgrid events signed by another key": events_signed(SendGridEventSigner.generate()),
    "sendgrid events stale timestamp": events_signed(None, age_s=3600),
    "sendgrid events body changed after signing": events_signed(None, tamper=True),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_webhook_is_refused_and_stores_nothing(stack: Stack, forge: Post) -> None:
    # given the app as it is
    before = footprint(stack)

    # when someone who is not the provider posts
    answer = forge(stack)

    # then 403, and no message, contact, outbox row, consent or provider event appeared
    assert answer.status_code == 403, answer.text
    assert footprint(stack) == before


def test_a_genuine_inbound_email_with_basic_auth_is_accepted(stack: Stack) -> None:
    # given Inbound Parse configured as https://sendgrid:<SECRET>@host/webhooks/sendgrid/inbound
    post = inbound_email_at("/webhooks/sendgrid/inbound", basic("sendgrid", INBOUND_SECRET))

    # when it posts
    answer = post(stack)
    stack.settle()

    # then the message is taken in (the forgeries above were refused for their secret alone)
    assert answer.status_code == 200
    assert stack.contact("email", "intruder@example.org") is not None


def test_an_oversized_body_gets_413_whether_declared_or_streamed(stack: Stack) -> None:
    # given a Twilio form far over the limit, signed properly
    form = inbound_sms_form("+15550141", "x" * (MAX_BODY + 10))
    url = f"{stack.url}/webhooks/twilio/sms"
    headers = twilio_headers(stack.settings.twilio_auth_token, url, form)
    before = footprint(stack)

    # when it comes with a Content-Length, and again streamed in chunks without one
    declared = sms_post(stack, form, headers)
    raw = httpx.Request("POST", url, data=form).read()
    streamed = stack.http.post(
        url,
        content=iter([raw[i : i + 8192] for i in range(0, len(raw), 8192)]),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )

    # then both are refused before anything is stored
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert footprint(stack) == before


def signed_sms_form(stack: Stack, form: dict[str, str]) -> httpx.Response:
    url = f"{stack.url}/webhooks/twilio/sms"
    return sms_post(stack, form, twilio_headers(stack.settings.twilio_auth_token, url, form))


def raw_telegram(body: bytes) -> Post:
    def post(stack: Stack) -> httpx.Response:
        return stack.http.post(
            "/webhooks/telegram",
            content=body,
            headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
        )

    return post


def signed_events(body: bytes) -> Post:
    def post(stack: Stack) -> httpx.Response:
        stamp = str(int(time.time()))
        return stack.http.post(
            "/webhooks/sendgrid/events",
            content=body,
            headers={
                **stack.providers.signer.headers(body, stamp),
                "Content-Type": "application/json",
            },
        )

    return post


def email_form(form: dict[str, str]) -> Post:
    def post(stack: Stack) -> httpx.Response:
        return stack.http.post(
            "/webhooks/sendgrid/inbound", files=multipart(form), headers=inbound_auth()
        )

    return post


MALFORMED: dict[str, Post] = {
    "twilio garbage bytes": lambda s: s.http.post(
        "/webhooks/twilio/sms",
        content=b"\xff\xfe%%\x00=&&=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "twilio json instead of a form": lambda s: s.http.post(
        "/webhooks/twilio/sms", json={"From": "+15550142"}
    ),
    "twilio signed form without From": lambda s: signed_sms_form(
        s, {"MessageSid": "SM1", "Body": "hi"}
    ),
    "twilio signed form with a sender that is no number": lambda s: signed_sms_form(
        s, inbound_sms_form("not-a-number", "hi")
    ),
    "twilio signed status with an unknown status": lambda s: s.http.post(
        "/webhooks/twilio/status",
        data={"MessageSid": "SM1", "MessageStatus": "exploded"},
        headers=twilio_headers(
            s.settings.twilio_auth_token,
            f"{s.url}/webhooks/twilio/status",
            {"MessageSid": "SM1", "MessageStatus": "exploded"},
        ),
    ),
    "telegram body that is not JSON": raw_telegram(b"{not json"),
    "telegram body that is not UTF-8": raw_telegram(b"\xff\xfe\xfa"),
    "telegram JSON list": raw_telegram(b"[1, 2]"),
    "telegram update_id that is text": raw_telegram(b'{"update_id": "7", "message": {}}'),
    "telegram update without a message": raw_telegram(b'{"update_id": 7002}'),
    "telegram message with broken fields": raw_telegram(
        b'{"update_id": 7004, "message": {"chat": 5}}'
    ),
    "sendgrid inbound JSON instead of multipart": lambda s: s.http.post(
        "/webhooks/sendgrid/inbound", json={"from": "x@example.org"}, headers=inbound_auth()
    ),
    "sendgrid inbound multipart without from": email_form({"text": "hello", "headers": ""}),
    "sendgrid inbound broken multipart": lambda s: s.http.post(
        "/webhooks/sendgrid/inbound",
        content=b"--xx\r\nnonsense",
        headers={"Content-Type": "multipart/form-data; boundary=xx", **inbound_auth()},
    ),
    "sendgrid events signed but not JSON": signed_events(b"{oops"),
    "sendgrid events signed JSON object": signed_events(b'{"event": "delivered"}'),
    # nested past Python's stack: a RecursionError, not the ValueError of other broken JSON
    "sendgrid events signed and nested 20,000 deep": signed_events(b"[" * 20_000 + b"]" * 20_000),
    "sendgrid events signed list of junk": signed_events(
        b'[1, "x", null, {"event": "delivered", "outbox_id": "zz"}]'
    ),
    "unsubscribe link with a wrong token": lambda s: s.http.post("/unsubscribe/1/0000"),
    "unsubscribe link with a text id": lambda s: s.http.post("/unsubscribe/abc/0000"),
}


@pytest.mark.parametrize("post", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_payload_gets_a_4xx_or_a_harmless_200_never_a_500(
    stack: Stack, post: Post
) -> None:
    # given the app as it is
    before = footprint(stack)

    # when a provider (or anyone) sends something broken
    answer = post(stack)

    # then a clear refusal or a shrug, and nothing was stored
    assert 400 <= answer.status_code < 500 or answer.status_code in (200, 204), answer.status_code
    assert footprint(stack) == {**before, "provider_events": footprint(stack)["provider_events"]}
    assert (
        stack.count(m.Contact, m.Contact.address.in_(("+15550142", "5550142", "x@example.org")))
        == 0
    )


RETRIES: dict[str, tuple[str, str, Callable[[Stack], httpx.Response]]] = {
    "twilio MessageSid": (
        "sms",
        "+15550150",
        lambda s: s.sms("+15550150", "hi", sid="SM" + "5" * 32),
    ),
    "telegram update_id": (
        "telegram",
        "5550150",
        lambda s: s.telegram(5550150, "/start", update_id=90_001),
    ),
    "email Message-ID": (
        "email",
        "retry@example.org",
        lambda s: s.email("retry@example.org", "hello", message_id="<retry-1@mail.example.org>"),
    ),
}


@pytest.mark.parametrize("channel,address,post", RETRIES.values(), ids=RETRIES.keys())
def test_a_retried_webhook_is_processed_once(
    stack: Stack, channel: str, address: str, post: Callable[[Stack], httpx.Response]
) -> None:
    # when the provider delivers one message five times, three of them at the same moment
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(stack), range(3)))
    answers += [post(stack), post(stack)]
    stack.settle()

    # then every post is acknowledged, one inbound row exists, and one reply went out
    assert [a.status_code for a in answers] == [200] * 5
    contact = stack.contact(channel, address)
    assert contact is not None
    assert stack.count(m.InboundMessage, m.InboundMessage.contact_id == contact.id) == 1
    assert [r.message_id for r in stack.outbox(address=address)] == ["onboarding.consent"]
    assert len(stack.received(channel, address)) == 1


def test_the_sender_number_is_ours(stack: Stack) -> None:
    # a reply to an inbound SMS leaves from the configured number, not the one the member wrote to
    stack.sms("+15550151", "hi")
    stack.settle()
    assert [r["from"] for r in stack.received("sms", "+15550151")] == [SENDER]
