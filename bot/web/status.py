"""Provider delivery reports by webhook: Twilio status callbacks and SendGrid's event webhook.

Each is verified, translated into DeliveryReports in our words, and recorded by the runtime;
a notice to staff that a report calls for goes out right after the answer.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import storable
from bot.channels.twilio_sms import OPTED_OUT_CODES
from bot.runtime.outbox.reports import DeliveryReport
from bot.web.deps import Web, web_of
from bot.web.guard import Refused
from bot.web.webhooks import read_json, twilio_form
from storage import ids

TWILIO = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
}
SENDGRID_EVENT_STATUS = {"delivered": "delivered", "bounce": "bounced", "dropped": "failed"}
SENDGRID_OPT_OUT = ("unsubscribe", "group_unsubscribe", "spamreport")
# A dropped event's reason when the address is on SendGrid's unsubscribe or spam-report list
# (SendGrid's "dropped" reasons): the person opted out, reported later, as Twilio's 21610 in a
# status callback is.
SENDGRID_OPTED_OUT_DROPS = ("unsubscribed address", "spam reporting address")
MAX_KEY, MAX_DETAIL = 255, 2000
OPTED_OUT = {
    str(code) for code in OPTED_OUT_CODES
}  # provider_events.key's column; a reason is a line, not a book


async def twilio_status(request: Request) -> Response:
    form = await twilio_form(request)
    sid, state = str(form.get("MessageSid") or ""), str(form.get("MessageStatus") or "")
    if not sid or state not in TWILIO:
        raise Refused(400, "a status callback needs MessageSid and a known MessageStatus")
    code = storable(str(form.get("ErrorCode") or ""))[:MAX_DETAIL]
    report = DeliveryReport(
        key=storable(f"{sid}:{state}")[:MAX_KEY],
        status=TWILIO[state],
        provider_id=storable(sid)[:MAX_KEY],
        # our row, from the StatusCallback URL we sent with (signed, as the form is)
        outbox_id=_row_id(request.query_params.get("outbox_id")),
        detail=code,
        # the carrier says the person opted out (STOP to the number): as on a send (issue 12.10)
        opt_out=f"Twilio status callback: error {code}" if code in OPTED_OUT else None,
    )
    return await _recorded(web_of(request), "twilio", [report], 204)


async def sendgrid_events(request: Request) -> Response:
    web = web_of(request)
    raw = await request.body()
    if web.verifier is None or not web.verifier.ok(
        raw,
        request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
        request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
        time.time(),
    ):
        raise Refused(403, "event signature does not match, or it is stale")
    events = read_json(raw)  # nested past the stack is refused too, not a 500
    if not isinstance(events, list):
        raise Refused(400, "expected a JSON list of events")
    reports = [sendgrid_report(event) for event in events if isinstance(event, dict)]
    return await _recorded(web, "sendgrid", reports, 200)


async def _recorded(
    web: Web, provider: str, reports: list[DeliveryReport], status: int
) -> Response:
    """Record the reports; notices to staff they call for (a family's crisis reply that never
    arrived) go right after the answer, as a crisis reply does."""
    notices = await run_in_threadpool(web.app.runtime.record_reports, provider, reports)
    if notices:
        web.sender.apart(web.sender.crisis(notices))
    return Response(status_code=status)


def sendgrid_report(event: dict[str, Any]) -> DeliveryReport:
    """One SendGrid event in our words; our outbox id comes back as a custom argument."""
    kind = str(event.get("event") or "")
    key = str(event.get("sg_event_id") or f"{event.get('sg_message_id')}:{event.get('event')}")
    reason = storable(str(event.get("reason") or ""))[:MAX_DETAIL]
    opt_out = f"SendGrid event: {kind}" if kind in SENDGRID_OPT_OUT else None
    if kind == "dropped" and reason.strip().lower() in SENDGRID_OPTED_OUT_DROPS:
        opt_out = f"SendGrid event: dropped ({reason.strip()})"
    return DeliveryReport(
        key=storable(key)[:MAX_KEY],
        status=SENDGRID_EVENT_STATUS.get(kind),
        outbox_id=_row_id(event.get("outbox_id")),
        detail=reason,
        opt_out=opt_out,
        # the recipient: the account's webhook also reports mail other apps sent
        address=str(event.get("email") or ""),
    )


def _row_id(value: object) -> int | None:
    """Our outbox id, back as a custom argument: digits that fit a database integer, else None."""
    return ids.parse(str(value or ""))
