"""Webhook authenticity checks: genuine requests pass; forged, stale and malformed ones do not."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.datastructures import FormData
from twilio.request_validator import HMAC_SHA256

from bot.channels.webhook_auth import (
    SendGridEventVerifier,
    public_url,
    sendgrid_event_ok,
    sendgrid_inbound_ok,
    telegram_secret_ok,
    twilio_signature_ok,
)
from tests.standins.signing import (
    TWILIO_SETTINGS_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SendGridEventSigner,
    sign_twilio,
    twilio_headers,
)
from tests.standins.twilio_api import inbound_sms_form

TOKEN = "twilio-auth-token"
URL = "https://bot.example.org/webhooks/twilio/sms"


@pytest.fixture
def form() -> dict[str, str]:
    return inbound_sms_form(from_="+15550123", body="non-use", message_sid="SM" + "b" * 32)


def test_public_url_is_built_from_configuration() -> None:
    assert public_url("https://bot.example.org/", "/webhooks/twilio/sms") == URL
    assert public_url("https://bot.example.org", "webhooks/twilio/sms", "a=1") == URL + "?a=1"


def test_twilio_genuine_signature_passes(form: dict[str, str]) -> None:
    assert twilio_signature_ok(TOKEN, URL, form, sign_twilio(TOKEN, URL, form))


def test_twilio_signature_over_a_starlette_form_passes(form: dict[str, str]) -> None:
    assert twilio_signature_ok(
        TOKEN, URL, FormData(list(form.items())), sign_twilio(TOKEN, URL, form)
    )


def test_twilio_sha256_signature_passes_with_its_settings_header(form: dict[str, str]) -> None:
    headers = twilio_headers(TOKEN, URL, form, algorithm=HMAC_SHA256)
    assert twilio_signature_ok(
        TOKEN, URL, form, headers[TWILIO_SIGNATURE_HEADER], headers[TWILIO_SETTINGS_HEADER]
    )
    # the same SHA-256 signature read as the legacy SHA-1 scheme fails
    assert not twilio_signature_ok(TOKEN, URL, form, headers[TWILIO_SIGNATURE_HEADER])


@pytest.mark.parametrize(
    "forgery",
    [
        "changed body",
        "other url",
        "other token",
        "missing",
        "empty",
        "garbage",
        "unknown algorithm",
    ],
)
def test_twilio_forgeries_are_refused(form: dict[str, str], forgery: str) -> None:
    signature: str | None = sign_twilio(TOKEN, URL, form)
    url, settings = URL, None
    if forgery == "changed body":
        form = {**form, "Body": "use"}
    elif forgery == "other url":
        url = "http://10.0.0.5:8000/webhooks/twilio/sms"  # what a proxied request.url would say
    elif forgery == "other token":
        signature = sign_twilio("someone-else", URL, form)
    elif forgery == "missing":
        signature = None
    elif forgery == "empty":
        signature = ""
    elif forgery == "garbage":
        signature = "ünïcode and not base64"
    elif forgery == "unknown algorithm":
        settings = "key=k,algorithm=HMAC_MD5"
    assert not twilio_signature_ok(TOKEN, url, form, signature, settings)


def test_twilio_form_with_a_file_is_refused(form: dict[str, str]) -> None:
    params = {**form, "Body": object()}
    assert not twilio_signature_ok(TOKEN, URL, params, sign_twilio(TOKEN, URL, form))


def test_telegram_secret_must_match_exactly() -> None:
    assert telegram_secret_ok("s3cret_token-1", "s3cret_token-1")
    assert not telegram_secret_ok("s3cret_token-1", "s3cret_token-2")
    assert not telegram_secret_ok("s3cret_token-1", None)
    assert not telegram_secret_ok("s3cret_token-1", "ünïcode")
    assert not telegram_secret_ok("", "")  # no configured secret: nothing passes


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_sendgrid_inbound_accepts_the_secret_as_basic_auth() -> None:
    assert sendgrid_inbound_ok("inbound-secret", basic("sendgrid:inbound-secret"))
    assert sendgrid_inbound_ok("parse:inbound-secret", basic("parse:inbound-secret"))


@pytest.mark.parametrize(
    ("secret", "authorization"),
    [
        ("inbound-secret", None),
        ("inbound-secret", basic("sendgrid:guess")),
        ("inbound-secret", basic("inbound-secret")),  # no colon: not basic auth
        ("inbound-secret", "Bearer inbound-secret"),
        ("inbound-secret", "Basic !!!not-base64"),
        ("parse:inbound-secret", basic("other:inbound-secret")),
        ("", basic("sendgrid:")),
    ],
)
def test_sendgrid_inbound_refuses_anything_else(secret: str, authorization: str | None) -> None:
    assert not sendgrid_inbound_ok(secret, authorization)


@pytest.fixture(scope="module")
def signer() -> SendGridEventSigner:
    return SendGridEventSigner.generate()


NOW = 1_760_000_000.0
EVENTS = json.dumps(
    [{"email": "sam@example.org", "event": "delivered", "sg_message_id": "abc.1"}]
).encode()


def test_sendgrid_genuine_event_post_passes(signer: SendGridEventSigner) -> None:
    timestamp = str(int(NOW) - 10)
    assert sendgrid_event_ok(
        signer.public_key, EVENTS, signer.sign(EVENTS, timestamp), timestamp, now=NOW
    )
    verifier = SendGridEventVerifier(signer.public_key)
    assert verifier.ok(EVENTS, signer.sign(EVENTS, timestamp), timestamp, now=NOW)


def test_sendgrid_event_reserialised_body_fails(signer: SendGridEventSigner) -> None:
    timestamp = str(int(NOW))
    reserialised = json.dumps(json.loads(EVENTS), separators=(",", ":")).encode()
    assert not sendgrid_event_ok(
        signer.public_key, reserialised, signer.sign(EVENTS, timestamp), timestamp, NOW
    )


@pytest.mark.parametrize(
    "forgery",
    [
        "stale",
        "future",
        "other key",
        "garbage signature",
        "not base64",
        "no timestamp",
        "bad timestamp",
        "changed timestamp",
        "not utf-8",
    ],
)
def test_sendgrid_event_forgeries_are_refused(signer: SendGridEventSigner, forgery: str) -> None:
    body, timestamp = EVENTS, str(int(NOW))
    signature: str | None = signer.sign(body, timestamp)
    if forgery == "stale":
        timestamp = str(int(NOW) - 301)
        signature = signer.sign(body, timestamp)
    elif forgery == "future":
        timestamp = str(int(NOW) + 3600)
        signature = signer.sign(body, timestamp)
    elif forgery == "other key":
        signature = SendGridEventSigner.generate().sign(body, timestamp)
    elif forgery == "garbage signature":
        signature = base64.b64encode(b"not a DER signature").decode()
    elif forgery == "not base64":
        signature = "%%%"
    elif forgery == "no timestamp":
        timestamp = ""
    elif forgery == "bad timestamp":
        timestamp = "yesterday"
    elif forgery == "changed timestamp":
        timestamp = str(int(NOW) - 1)
    elif forgery == "not utf-8":
        body = b"\xff\xfe"
        signature = signer.sign(body, timestamp)
    assert not sendgrid_event_ok(signer.public_key, body, signature, timestamp, now=NOW)


@pytest.mark.parametrize("key", ["", "not a key!!", "rsa"])
def test_a_bad_event_public_key_stops_startup(key: str) -> None:
    if key == "rsa":
        der = (
            rsa.generate_private_key(public_exponent=65537, key_size=1024)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        key = base64.b64encode(der).decode()
    with pytest.raises(ValueError, match="SendGrid event public key"):
        SendGridEventVerifier(key)
    assert not sendgrid_event_ok(key, EVENTS, "sig", str(int(NOW)), NOW)
