"""Sign webhook requests the way Twilio, Telegram and SendGrid sign them, for tests and
benchmarks."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import HMAC_SHA1, RequestValidator

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def sign_twilio(
    auth_token: str, url: str, params: Mapping[str, str], algorithm: str = HMAC_SHA1
) -> str:
    """The X-Twilio-Signature value Twilio would send for this public URL and form."""
    return RequestValidator(auth_token).compute_signature(url, dict(params), algorithm)


def twilio_headers(
    auth_token: str,
    url: str,
    params: Mapping[str, str],
    algorithm: str = HMAC_SHA1,
    key_id: str = "webhooks_sharedkey_standin",
) -> dict[str, str]:
    """Headers for a signed Twilio webhook; HMAC_SHA256 adds the signature-settings header."""
    headers = {TWILIO_SIGNATURE_HEADER: sign_twilio(auth_token, url, params, algorithm)}
    if algorithm != HMAC_SHA1:
        headers[TWILIO_SETTINGS_HEADER] = f"key={key_id},algorithm={algorithm}"
    return headers


def telegram_headers(secret: str) -> dict[str, str]:
    """Telegram sends the webhook secret verbatim in this header on every update."""
    return {TELEGRAM_SECRET_HEADER: secret}


@dataclass(frozen=True)
class SendGridEventSigner:
    """An ECDSA P-256 key pair standing in for SendGrid's Event Webhook signing key."""

    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> SendGridEventSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> str:
        """The verification key as SendGrid's settings page shows it: base64 DER, one line."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, raw_body: bytes, timestamp: str) -> str:
        """Base64 DER ECDSA-SHA256 over timestamp + body, as in the signature header."""
        signature = self.private_key.sign(
            timestamp.encode("utf-8") + raw_body, ec.ECDSA(hashes.SHA256())
        )
        return base64.b64encode(signature).decode("ascii")

    def headers(self, raw_body: bytes, timestamp: str) -> dict[str, str]:
        return {
            SENDGRID_SIGNATURE_HEADER: self.sign(raw_body, timestamp),
            SENDGRID_TIMESTAMP_HEADER: timestamp,
        }
