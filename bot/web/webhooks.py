"""Messages from families, by provider webhook: verify, parse, one runtime turn, reply after 200."""

from __future__ import annotations

import json

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import InboundMessage
from bot.channels.sendgrid_email import parse_inbound_email
from bot.channels.telegram import parse_update
from bot.channels.twilio_sms import parse_inbound_sms
from bot.channels.webhook_auth import (
    public_url,
    sendgrid_inbound_ok,
    telegram_secret_ok,
    twilio_signature_ok,
)
from bot.runtime.inbound import InboundResult
from bot.web.deps import WEB_RELOAD_CHECK_S, Web, web_of
from bot.web.guard import Refused, read_form

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def twilio_sms(request: Request) -> Response:
    form = await twilio_form(request)
    try:
        task = await process(web_of(request), parse_inbound_sms(form))
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc
    return Response(EMPTY_TWIML, 200, media_type="text/xml", background=task)


async def telegram(request: Request) -> Response:
    web = web_of(request)
    secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not telegram_secret_ok(web.app.settings.telegram_webhook_secret, secret):
        raise Refused(403, "secret token does not match")
    try:
        payload = json.loads(await request.body())
        if not isinstance(payload, dict):
            raise ValueError("an update must be a JSON object")
        inbound = parse_update(payload)
    except ValueError as exc:
        raise Refused(400, f"not a Telegram update: {exc}") from exc
    return Response(status_code=200, background=await process(web, inbound))


async def sendgrid_inbound(request: Request) -> Response:
    web = web_of(request)
    settings = web.app.settings
    token = request.path_params.get("token") or request.query_params.get("token")
    if not sendgrid_inbound_ok(
        settings.sendgrid_inbound_secret, token, request.headers.get("Authorization")
    ):
        raise Refused(403, "inbound secret does not match")
    form = await request.form(max_part_size=settings.max_body_bytes)
    try:
        inbound = parse_inbound_email(form)
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc
    return Response(status_code=200, background=await process(web, inbound))


async def twilio_form(request: Request) -> FormData:
    """The posted form of a Twilio webhook, once its signature is checked."""
    settings = web_of(request).app.settings
    form = await read_form(request)
    url = public_url(settings.public_base_url, request.url.path, request.url.query)
    ok = twilio_signature_ok(
        settings.twilio_auth_token,
        url,
        form,
        request.headers.get("X-Twilio-Signature"),
        request.headers.get("X-Twilio-Webhooks-Signature-Settings"),
    )
    if not ok:
        raise Refused(403, "signature does not match")
    return form


async def process(web: Web, inbound: InboundMessage | None) -> BackgroundTask | None:
    """Commit first; the 200 goes back only after. Replies go out right after the response."""
    if inbound is None:
        return None
    if web.writer:
        result = await web.writer.handle(inbound)
    else:
        result = await run_in_threadpool(_handle, web, inbound)
    if result.duplicate or not result.outbox_ids:
        return None
    return BackgroundTask(web.sender.send, result.crisis_ids, result.outbox_ids)


def _handle(web: Web, inbound: InboundMessage) -> InboundResult:
    # One thread hop for both: the reload check is throttled, so it is usually just a clock read.
    web.app.ctx.program.reload_if_changed(WEB_RELOAD_CHECK_S)
    return web.app.runtime.handle_inbound(inbound)
