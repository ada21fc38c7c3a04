"""Provider delivery reports by webhook: Twilio status callbacks and SendGrid's event webhook.

Each is verified, translated into DeliveryReports in our words, and recorded by the runtime.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.runtime.outbox.reports import DeliveryReport
from bot.web.deps import web_of
from bot.web.guard import Refused
from bot.web.webhooks import twilio_form

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


async def twilio_status(request: Request) -> Response:
    form = await twilio_form(request)
    sid, state = str(form.get("MessageSid") or ""), str(form.get("MessageStatus") or "")
    if not sid or state not in TWILIO:
        raise Refused(400, "a status callback needs MessageSid and a known MessageStatus")
    report = DeliveryReport(
        key=f"{sid}:{state}",
        status=TWILIO[state],
        provider_id=sid,
        detail=str(form.get("ErrorCode") or ""),
    )
    await run_in_threadpool(web_of(request).app.runtime.record_reports, "twilio", [report])
    return Response(status_code=204)


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
    try:
        events = json.loads(raw)
        if not isinstance(events, list):
            raise ValueError("expected a JSON list of events")
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc
    reports = [sendgrid_report(event) for event in events if isinstance(event, dict)]
    await run_in_threadpool(web.app.runtime.record_reports, "sendgrid", reports)
    return Response(status_code=200)


def sendgrid_report(event: dict[str, Any]) -> DeliveryReport:
    """One SendGrid event in our words; our outbox id comes back as a custom argument."""
    kind = str(event.get("event") or "")
    outbox_id = str(event.get("outbox_id") or "")
    return DeliveryReport(
        key=str(event.get("sg_event_id") or f"{event.get('sg_message_id')}:{event.get('event')}"),
        status=SENDGRID_EVENT_STATUS.get(kind),
        outbox_id=int(outbox_id) if outbox_id.isdigit() else None,
        detail=str(event.get("reason") or ""),
        opt_out=f"SendGrid event: {kind}" if kind in SENDGRID_OPT_OUT else None,
    )
