"""SMS through Twilio: the outbound adapter (twilio SDK, async) and the inbound form parser."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import phonenumbers
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.base import ChannelName, InboundMessage, OutboundMessage, SendOutcome, SendResult

DEFAULT_API_BASE_URL = "https://api.twilio.com"

OPTED_OUT_CODES = frozenset({21610})  # "Attempt to send to unsubscribed recipient"
# The number itself can never receive: not a number, not mobile, unroutable, or outside the
# account's geographic permissions (21408), which only an operator can change per region.
INVALID_ADDRESS_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614})
# Our side is wrong: credentials, account, sender number or messaging service.
MISCONFIGURED_CODES = frozenset({20003, 20404, 20008, 21212, 21603, 21606, 21659, 21705, 21712})
# Transient whatever the HTTP status says: too many requests, a sender's or a service's queue
# full (21611, 30001: "try again after waiting"), rate limits, the account's daily limit (63038).
RETRY_CODES = frozenset({20429, 14107, 21611, 30001, 30022, 63017, 63038})

_log = logging.getLogger(__name__)


def to_e164(raw: str, default_region: str = "US") -> str | None:
    """The number in E.164 (+15550123), or None when it cannot be read as a phone number.

    Only parses and formats: fictional test ranges such as +1 555 01xx must survive, so this
    does not judge whether the number is assigned.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _ProviderBusy(Exception):
    """Raised by the HTTP layer on 429 and 5xx, carrying Retry-After (the SDK's error drops
    headers)."""

    def __init__(self, status: int, retry_after_s: float | None, body: str) -> None:
        super().__init__(f"Twilio answered HTTP {status}: {body[:200]}")
        self.status = status
        self.retry_after_s = retry_after_s


class AiohttpTwilioClient(AsyncHttpClient):
    """An async HTTP client for the twilio SDK on one pooled aiohttp session.

    Why not the SDK's AsyncTwilioHttpClient: it builds its session eagerly (aiohttp needs a
    running loop), passes bare float timeouts, and uses aiohttp's deprecated BasicAuth, which
    fails under warnings-as-errors. Why not httpx: measured on loopback, httpx's async pool got
    slower with concurrency (406/s alone, 145/s at 50 in flight) where aiohttp did ~1,200/s.
    This one also keeps Retry-After, which TwilioRestException discards. One event loop per
    adapter: the session is created on the first send, inside the loop that sends.
    """

    def __init__(self, timeout_s: float, max_connections: int = 100) -> None:
        super().__init__(_log, is_async=True, timeout=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        send_headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            send_headers["Authorization"] = f"Basic {token}"
        body = None
        if data:
            body = urlencode(data, doseq=True)
            send_headers["Content-Type"] = "application/x-www-form-urlencoded"
        query = urlencode(params, doseq=True) if params else ""
        url = f"{uri}?{query}" if query else uri
        # timeout=None would mean "wait forever" to aiohttp: pass one only to override the default.
        options: dict[str, Any] = {
            "data": body,
            "headers": send_headers,
            "allow_redirects": allow_redirects,
        }
        if timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        async with self._get_session().request(method.upper(), url, **options) as response:
            text = await response.text()
            if response.status == 429 or response.status >= 500:
                raise _ProviderBusy(
                    response.status, parse_retry_after(response.headers.get("Retry-After")), text
                )
            return Response(response.status, text, dict(response.headers))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TwilioSMS:
    """Sends SMS through Twilio's Messages API with the official SDK's async path."""

    name: ChannelName = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        status_callback_url: str | None = None,
        timeout_s: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError(
                "TwilioSMS needs a sender: give from_number or messaging_service_sid (neither was "
                "set)."
            )
        self._from = from_number
        self._service = messaging_service_sid
        self._status_callback = status_callback_url
        self._http = AiohttpTwilioClient(timeout_s, max_connections)
        # environment={} keeps the SDK from reading TWILIO_EDGE / TWILIO_REGION, which would
        # rewrite the host and break a configured base URL.
        self._client = Client(account_sid, auth_token, http_client=self._http, environment={})
        self._client.api.base_url = api_base_url.rstrip("/")

    async def send(self, message: OutboundMessage) -> SendResult:
        kwargs: dict[str, Any] = {"to": message.address, "body": message.text}
        if self._service:
            kwargs["messaging_service_sid"] = self._service
        else:
            kwargs["from_"] = self._from
        if self._status_callback:
            # The callback names our row, as SendGrid's custom argument does: a Messaging
            # Service may report (21610, say) before the send is recorded with its MessageSid.
            joiner = "&" if "?" in self._status_callback else "?"
            kwargs["status_callback"] = f"{self._status_callback}{joiner}outbox_id={message.id}"
        try:
            created = await self._client.messages.create_async(**kwargs)
        except _ProviderBusy as exc:
            return SendResult(SendOutcome.RETRY, retry_after_s=exc.retry_after_s, detail=str(exc))
        except TimeoutError as exc:
            return SendResult(
                SendOutcome.RETRY, detail=f"Twilio did not answer in time ({type(exc).__name__})."
            )
        except aiohttp.ClientError as exc:
            return SendResult(SendOutcome.RETRY, detail=f"Could not reach Twilio: {exc!r}.")
        except (TwilioRestException, TwilioServiceException) as exc:
            return classify_twilio_error(exc)
        return SendResult(SendOutcome.SENT, provider_id=created.sid)

    async def aclose(self) -> None:
        await self._http.close()


def classify_twilio_error(exc: TwilioRestException | TwilioServiceException) -> SendResult:
    """Map a Twilio API error to a send outcome by its error code, then its HTTP status."""
    status = int(getattr(exc, "status", 0) or 0)
    code = int(getattr(exc, "code", 0) or 0)
    detail = (
        f"Twilio answered HTTP {status} with error code {code}: {getattr(exc, 'msg', '') or exc!r}"
    )
    if code in OPTED_OUT_CODES:
        return SendResult(SendOutcome.OPTED_OUT, detail=detail)
    if code in INVALID_ADDRESS_CODES:
        return SendResult(SendOutcome.INVALID_ADDRESS, detail=detail)
    if code in MISCONFIGURED_CODES or status in (401, 403, 404):
        return SendResult(SendOutcome.MISCONFIGURED, detail=detail)
    if 400 <= status < 500 and status not in (408, 429) and code not in RETRY_CODES:
        # a 4xx with a code we do not know: this request fails the same way every time
        return SendResult(SendOutcome.REJECTED, detail=detail)
    # 429, 5xx: transient; the dispatcher's attempt limit ends a message that never passes
    return SendResult(SendOutcome.RETRY, detail=detail)


def parse_inbound_sms(form: Mapping[str, Any]) -> InboundMessage | None:
    """The family member's SMS (or MMS) from Twilio's inbound webhook form, or None when it
    carries nothing.

    Raises ValueError when the form lacks From or MessageSid (answer 400); the message names no
    value, so it can be logged. A message from another of Twilio's channels (WhatsApp,
    Messenger) is None: not ours to answer. OptOutType (Advanced Opt-Out: STOP, START, HELP) becomes
    keyword_hint; a picture without words has empty text and `media` "mms".
    """
    raw_from, sid = _text(form, "From").strip(), _text(form, "MessageSid", "SmsMessageSid").strip()
    if not raw_from or not sid:
        raise ValueError("A Twilio SMS webhook needs From and MessageSid.")
    scheme, colon, _ = raw_from.partition(":")
    if colon and scheme.isalpha():
        # WhatsApp, Messenger or RCS through the same number ("whatsapp:+1..."): the person
        # agreed to nothing by SMS, and an answer by SMS would reach a phone they did not write
        # from. Nothing is stored; Twilio gets its 200.
        _log.info(
            "twilio: a %s message was ignored: craftbot answers SMS only", scheme[:16].lower()
        )
        return None
    address = to_e164(raw_from)
    if address is None:
        raise ValueError("The SMS sender in From is not a phone number that reads as E.164.")
    body = _text(form, "Body").strip()
    hint = _text(form, "OptOutType").strip().upper() or None
    media = "mms" if _text(form, "NumMedia").strip() not in ("", "0") else None
    if not body and hint is None and media is None:
        return None
    return InboundMessage(
        channel="sms",
        address=address,
        text=body,
        provider_id=sid,
        keyword_hint=hint,
        media=media,
    )


def _text(form: Mapping[str, Any], *names: str) -> str:
    """The first of these fields that is text ("" when none is): a file part is no field of ours."""
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value:
            return value
    return ""
