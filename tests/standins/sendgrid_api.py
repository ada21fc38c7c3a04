"""A local stand-in for SendGrid's v3 Mail Send API, answering as api.sendgrid.com does."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins import Fault, StandinServer, retry_after_header


def sg_error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "field": field, "help": None}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _message_id() -> str:
    # SendGrid's X-Message-Id is 22 URL-safe base64 characters.
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


class SendGridStandin(StandinServer):
    """`POST /v3/mail/send` with a Bearer key, answering 202 with an empty body and X-Message-Id.

    Per-address behaviour: `mark_invalid(email)` answers 400; so does an address without "@".
    """

    def __init__(self, api_key: str = "SG.standin-key", latency_s: float = 0.0) -> None:
        super().__init__(latency_s=latency_s)
        self.api_key = api_key
        self._invalid: set[str] = set()
        self._addr_lock = threading.Lock()

    def mark_invalid(self, email: str) -> None:
        with self._addr_lock:
            self._invalid.add(email.lower())

    def reset(self) -> None:
        """Forget records, counters, pending faults and per-address behaviours."""
        super().reset()
        with self._addr_lock:
            self._invalid.clear()

    def routes(self) -> list[Any]:
        return [Route("/v3/mail/send", self.send, methods=["POST"])]

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "throttle":
            return sg_error(
                429,
                "too many requests",
                headers={"Retry-After": retry_after_header(fault.retry_after_s)},
            )
        return sg_error(fault.status, "internal server error")

    async def send(self, request: Request) -> Response:
        fault = await self.before(request)
        if fault is not None:
            return fault
        header = request.headers.get("authorization", "")
        if not secrets.compare_digest(header, f"Bearer {self.api_key}"):
            self._bump("refused")
            return sg_error(401, "The provided authorization grant is invalid, expired, or revoked")
        try:
            mail = json.loads(await request.body())
            personalizations = mail["personalizations"]
            recipients = [t["email"] for p in personalizations for t in p["to"]]
            from_email = mail["from"]["email"]
        except (ValueError, KeyError, TypeError):
            self._bump("refused")
            return sg_error(400, "Bad Request", field=None)
        with self._addr_lock:
            bad = [r for r in recipients if "@" not in r or r.lower() in self._invalid]
        if bad:
            self._bump("refused")
            return sg_error(
                400, "Does not contain a valid address.", field="personalizations.0.to.0.email"
            )
        message_id = _message_id()
        contents = {c.get("type"): c.get("value") for c in mail.get("content", [])}
        headers = dict(mail.get("headers", {}))
        for p in personalizations:
            headers.update(p.get("headers", {}))
        custom_args = dict(mail.get("custom_args", {}))
        for p in personalizations:
            custom_args.update(p.get("custom_args", {}))
        self._record(
            {
                "message_id": message_id,
                "to": recipients,
                "from": from_email,
                "subject": mail.get("subject") or personalizations[0].get("subject"),
                "text": contents.get("text/plain"),
                "html": contents.get("text/html"),
                "headers": headers,
                "custom_args": custom_args,
                "raw": mail,
            }
        )
        return Response(status_code=202, headers={"X-Message-Id": message_id})


def inbound_parse_form(
    from_: str,
    text: str,
    subject: str = "Re: Tonight's check-in",
    to: str = "coach@inbound.example.org",
    message_id: str | None = None,
    html: str | None = None,
) -> dict[str, str]:
    """The multipart fields SendGrid Inbound Parse posts (non-raw mode)."""
    mid = message_id or f"<{secrets.token_hex(8)}@mail.example.org>"
    headers = (
        f"Received: from mail.example.org\nMessage-ID: {mid}\nFrom: {from_}\nTo: {to}\n"
        f"Subject: {subject}\nContent-Type: multipart/alternative"
    )
    form = {
        "headers": headers,
        "dkim": "{@example.org : pass}",
        "to": to,
        "from": from_,
        "subject": subject,
        "text": text,
        "sender_ip": "127.0.0.1",
        "envelope": json.dumps({"to": [to], "from": from_.split("<")[-1].rstrip(">")}),
        "attachments": "0",
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "utf-8"}
        ),
        "SPF": "pass",
    }
    if html is not None:
        form["html"] = html
    return form
