"""A local stand-in for Twilio's Messages API, answering as api.twilio.com does."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from email.utils import formatdate
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins import Fault, StandinServer, retry_after_header
from tests.standins.signing import twilio_headers

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


def twilio_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


class TwilioStandin(StandinServer):
    """`POST /2010-04-01/Accounts/{sid}/Messages.json` with basic auth, answering 201 and a message
    resource.

    Per-number behaviours: `opt_out(number)` answers 400 code 21610, `mark_invalid(number)` 400 code
    21211.
    """

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "standin-auth-token",
        latency_s: float = 0.0,
        callback_statuses: tuple[str, ...] = (),
    ) -> None:
        super().__init__(latency_s=latency_s)
        self.account_sid = account_sid
        self.auth_token = auth_token
        # When set, each accepted message with a StatusCallback gets these statuses posted back,
        # signed with the auth token, the way Twilio reports delivery (e.g. ("sent", "delivered")).
        self.callback_statuses = callback_statuses
        self._opted_out: set[str] = set()
        self._invalid: set[str] = set()
        self._addr_lock = threading.Lock()

    def opt_out(self, number: str) -> None:
        with self._addr_lock:
            self._opted_out.add(number)

    def opt_in(self, number: str) -> None:
        with self._addr_lock:
            self._opted_out.discard(number)

    def mark_invalid(self, number: str) -> None:
        with self._addr_lock:
            self._invalid.add(number)

    def reset(self) -> None:
        """Forget records, counters, pending faults and per-address behaviours."""
        super().reset()
        with self._addr_lock:
            self._opted_out.clear()
            self._invalid.clear()

    def routes(self) -> list[Any]:
        return [
            Route(
                "/2010-04-01/Accounts/{sid}/Messages.json", self.create_message, methods=["POST"]
            ),
        ]

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "throttle":
            return twilio_error(
                429,
                20429,
                "Too Many Requests",
                headers={"Retry-After": retry_after_header(fault.retry_after_s)},
            )
        return twilio_error(fault.status, 20500, "Internal Server Error")

    def _authorised(self, request: Request, sid: str) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid == sid and secrets.compare_digest(password, self.auth_token)

    async def create_message(self, request: Request) -> Response:
        fault = await self.before(request)
        if fault is not None:
            return fault
        sid = request.path_params["sid"]
        if not self._authorised(request, sid):
            self._bump("refused")
            return twilio_error(401, 20003, "Authenticate")
        form = await request.form()
        to = str(form.get("To", ""))
        from_ = str(form.get("From", "")) or None
        service = str(form.get("MessagingServiceSid", "")) or None
        body = str(form.get("Body", ""))
        if not to:
            self._bump("refused")
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not (from_ or service):
            self._bump("refused")
            return twilio_error(
                400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required."
            )
        if not body:
            self._bump("refused")
            return twilio_error(400, 21602, "Message body is required.")
        with self._addr_lock:
            opted_out, invalid = to in self._opted_out, to in self._invalid
        if invalid:
            self._bump("refused")
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if opted_out:
            self._bump("refused")
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        message_sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        uri = f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"
        resource = {
            "account_sid": sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        callback = str(form.get("StatusCallback", "")) or None
        self._record(
            {
                "sid": message_sid,
                "to": to,
                "from": from_,
                "messaging_service_sid": service,
                "body": body,
                "status_callback": callback,
            }
        )
        task = None
        if callback and self.callback_statuses:
            task = BackgroundTask(
                self._post_statuses, callback, message_sid, to, from_ or service or ""
            )
        return JSONResponse(resource, status_code=201, background=task)

    async def _post_statuses(self, url: str, message_sid: str, to: str, from_: str) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for status in self.callback_statuses:
                form = status_callback_form(message_sid, status, to, from_, self.account_sid)
                headers = twilio_headers(self.auth_token, url, form)
                try:
                    answer = await client.post(url, data=form, headers=headers)
                    self._bump("callbacks" if answer.is_success else "callback_failures")
                except httpx.HTTPError:
                    self._bump("callback_failures")


def inbound_sms_form(
    from_: str,
    body: str,
    to: str = "+15550100",
    message_sid: str | None = None,
    account_sid: str = "AC" + "0" * 32,
    opt_out_type: str | None = None,
) -> dict[str, str]:
    """The form Twilio posts to the inbound SMS webhook (sign it with signing.sign_twilio)."""
    sid = message_sid or "SM" + secrets.token_hex(16)
    form = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }
    if opt_out_type:
        form["OptOutType"] = opt_out_type
    return form


def status_callback_form(
    message_sid: str,
    status: str,
    to: str,
    from_: str = "+15550100",
    account_sid: str = "AC" + "0" * 32,
    error_code: str | None = None,
) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback URL."""
    form = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": to,
        "From": from_,
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form
