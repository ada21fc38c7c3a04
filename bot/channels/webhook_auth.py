"""Is this webhook really from Twilio, Telegram or SendGrid? Pure checks, no I/O."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator, get_signature_algorithm

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def _same(expected: str, given: str | None) -> bool:
    # Compare bytes: hmac.compare_digest refuses non-ASCII str, and forged input may be anything.
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def public_url(public_base_url: str, path: str, query: str = "") -> str:
    """The URL the provider called, rebuilt from configuration (behind a proxy the request's is
    wrong)."""
    url = public_base_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


class _FormParams:
    """Hands RequestValidator every value of a multi-valued form as strings (it calls getall)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        multi = getattr(params, "multi_items", None)
        items = multi() if callable(multi) else list(params.items())
        self._values: dict[str, list[str]] = {}
        for key, value in items:
            if not isinstance(value, str):
                raise TypeError(f"Form field {key!r} is not text; Twilio webhooks send only text.")
            self._values.setdefault(key, []).append(value)

    def __iter__(self) -> Any:
        return iter(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]


def twilio_signature_ok(
    auth_token: str,
    url: str,
    params: Mapping[str, Any],
    signature: str | None,
    settings_header: str | None = None,
) -> bool:
    """True when X-Twilio-Signature matches this public URL (query included) and form.

    With the X-Twilio-Webhooks-Signature-Settings header (`key=...,algorithm=HMAC_SHA256`) the
    SDK checks HMAC-SHA256 instead of SHA-1; pass that header's value, and as auth_token the
    secret that signs: the account Auth Token, or the SharedKey secret when one is in use.
    """
    if not auth_token or not signature:
        return False
    try:
        form = _FormParams(params)
        algorithm = get_signature_algorithm(settings_header)
        return bool(
            RequestValidator(auth_token).validate(url, form, signature, algorithm=algorithm)
        )
    except (TypeError, ValueError):
        return False


def telegram_secret_ok(expected: str, header_value: str | None) -> bool:
    """True when X-Telegram-Bot-Api-Secret-Token equals our configured secret (constant time)."""
    return _same(expected, header_value)


def sendgrid_inbound_ok(secret: str, authorization: str | None) -> bool:
    """True when an Inbound Parse post carries our secret as HTTP basic auth.

    SendGrid sends the credentials of its Destination URL (https://sendgrid:SECRET@host/...) as
    basic auth. Never as a path segment: a path is written to every access log on the way.
    With a secret of the form "user:password" both parts must match; with a plain secret, the
    password must equal it (any user name).
    """
    if not secret or not authorization:
        return False
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = credentials.partition(":")
    if not sep:
        return False
    if ":" in secret:
        return _same(secret, credentials)
    return _same(secret, password)


@dataclass(frozen=True)
class SenderCheck:
    """Whether an inbound email's From can be believed, and why, in words fit for a log line
    (no address and no domain: a family's own domain names them)."""

    believed: bool
    reason: str


_RESULTS = frozenset(
    {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"}
)
_DKIM_RESULT = re.compile(r"@([A-Za-z0-9.-]+)\s*:\s*([A-Za-z]+)")


def email_sender_check(from_address: str, dkim: str, spf: str) -> SenderCheck:
    """Believe a From address only when a DKIM signature of its domain passed.

    SendGrid's Inbound Parse posts what it found: `dkim` as "{@example.org : pass}" (one entry
    per signature, comma-separated) and `SPF` as "pass", "fail", "softfail", "none", ... SPF
    vouches for the envelope sender, which whoever sends chooses, so it says nothing about the
    From line a family is known by; a passing DKIM signature whose domain is aligned with the
    From domain (the same domain, or one a subdomain of the other, as DMARC's relaxed alignment)
    is what shows the mail came from that address's provider. SPF is reported in the reason.
    """
    domain = from_address.rpartition("@")[2].strip().lower().rstrip(".")
    spf_result = _known((spf.split() or ["none"])[0])
    results = [(d.lower().rstrip("."), r.lower()) for d, r in _DKIM_RESULT.findall(dkim)]
    passing = [d for d, r in results if r == "pass"]
    if domain and any(_aligned(domain, d) for d in passing):
        return SenderCheck(True, f"dkim=pass aligned, spf={spf_result}")
    dkim_said = "pass for another domain" if passing else _known(results[0][1] if results else "")
    return SenderCheck(False, f"no aligned DKIM pass (dkim={dkim_said}, spf={spf_result})")


def _known(result: str) -> str:
    """An authentication result in words fit for a log: RFC 8601's set, else "other"."""
    result = result.strip().lower()
    return result if result in _RESULTS else "other" if result else "none"


def _aligned(from_domain: str, signer: str) -> bool:
    return (
        from_domain == signer
        or from_domain.endswith("." + signer)
        or signer.endswith("." + from_domain)
    )


class SendGridEventVerifier:
    """Checks the Event Webhook's ECDSA signature and timestamp; parses the public key once.

    Raises ValueError at construction for a key that is not a base64 P-256 public key, so a
    wrong SENDGRID_EVENT_PUBLIC_KEY stops startup instead of refusing every event.
    """

    def __init__(self, public_key: str, max_age_s: float = 300.0) -> None:
        rule = (
            "The SendGrid event public key must be the base64 P-256 key from the Event Webhook "
            "settings"
        )
        if not public_key.strip():
            raise ValueError(f"{rule}; the one given is empty.")
        try:
            self._webhook = EventWebhook(public_key.strip())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{rule}; the one given could not be read ({exc}).") from exc
        if not isinstance(self._webhook.public_key, ec.EllipticCurvePublicKey):
            raise ValueError(f"{rule}; the one given is not an elliptic-curve key.")
        self._max_age_s = max_age_s

    def ok(self, raw_body: bytes, signature: str | None, timestamp: str | None, now: float) -> bool:
        """True for a genuine, fresh event post: the raw bytes, exactly as received, are signed."""
        if not signature or not timestamp or not timestamp.strip().isdigit():
            return False
        if abs(now - int(timestamp)) > self._max_age_s:
            return False  # stale (a replay) or from a clock far in the future
        try:
            payload = raw_body.decode("utf-8")
            return bool(self._webhook.verify_signature(payload, signature, timestamp))
        except (InvalidSignature, ValueError, TypeError):
            # EventWebhook raises rather than answering False on signatures that are not
            # base64 or not DER: a forgery all the same.
            return False


def sendgrid_event_ok(
    public_key: str,
    raw_body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float,
    max_age_s: float = 300.0,
) -> bool:
    """One-shot form of SendGridEventVerifier(public_key, max_age_s).ok(...); False for a bad
    key."""
    try:
        verifier = SendGridEventVerifier(public_key, max_age_s)
    except ValueError:
        return False
    return verifier.ok(raw_body, signature, timestamp, now)
