"""Messages from families, by provider webhook: verify, parse, one runtime turn, reply after 200."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import InboundMessage
from bot.channels.sendgrid_email import parse_inbound_email
from bot.channels.telegram import ChatBlocked, parse_update
from bot.channels.twilio_sms import parse_inbound_sms
from bot.channels.webhook_auth import (
    email_sender_check,
    public_url,
    sendgrid_inbound_ok,
    telegram_secret_ok,
    twilio_signature_ok,
)
from bot.runtime.inbound import InboundResult
from bot.web.deps import Web, web_of
from bot.web.guard import Refused, read_form

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def twilio_sms(request: Request) -> Response:
    arrived = time.perf_counter()
    form = await twilio_form(request)
    try:
        inbound = parse_inbound_sms(form)
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc
    await process(web_of(request), inbound, arrived)
    return Response(EMPTY_TWIML, 200, media_type="text/xml")


async def telegram(request: Request) -> Response:
    """Telegram holds back every later update until one is answered 2xx, so an authenticated
    update we cannot use is answered 200 with a log line, never 4xx: only what is not a JSON
    object at all (which Telegram never sends) is refused."""
    arrived = time.perf_counter()
    web = web_of(request)
    secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not telegram_secret_ok(web.app.settings.telegram_webhook_secret, secret):
        raise Refused(403, "secret token does not match")
    payload = read_json(await request.body())
    if not isinstance(payload, dict):
        raise Refused(400, "not a Telegram update: an update is a JSON object")
    try:
        seen = parse_update(payload)
    except ValueError:
        log.warning("telegram: an update without an integer update_id was ignored")
        return Response(status_code=200)
    if isinstance(seen, ChatBlocked):
        opted_out = await run_in_threadpool(
            web.app.runtime.opt_out_address, "telegram", seen.address, "blocked the bot"
        )
        log.info(
            "telegram update %d: a chat blocked the bot (opted out: %s)", seen.update_id, opted_out
        )
        return Response(status_code=200)
    if seen is None:
        log.debug("telegram update %d: nothing a family wrote; ignored", payload["update_id"])
    await process(web, seen, arrived)
    return Response(status_code=200)


async def sendgrid_inbound(request: Request) -> Response:
    arrived = time.perf_counter()
    web = web_of(request)
    settings = web.app.settings
    if not sendgrid_inbound_ok(
        settings.sendgrid_inbound_secret, request.headers.get("Authorization")
    ):
        raise Refused(403, "inbound secret does not match")
    form = await request.form(max_part_size=settings.max_body_bytes)
    try:
        inbound = parse_inbound_email(form)
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc
    if inbound is not None:
        check = email_sender_check(inbound.address, _field(form, "dkim"), _field(form, "SPF"))
        if not check.believed:
            # Not believed, so not acted on: no sign-up, no answer, no opt-in, no alert against
            # the family whose address it names; and no reply, which would go to that address.
            crisis = web.app.ctx.program.current.program.understanding.crisis_in(inbound.words)
            log.warning(
                "inbound email ignored: its sender could not be verified (%s)%s",
                check.reason,
                "; it has crisis words (docs/deploy.md)" if crisis else "",
            )
            web.app.metrics.inbound_refused.labels("email", "unverified_sender").inc()
            return Response(status_code=200)
    await process(web, inbound, arrived)
    return Response(status_code=200)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def read_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, or nested past the stack
        raise Refused(400, f"not JSON: {type(exc).__name__}") from exc


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


async def process(web: Web, inbound: InboundMessage | None, arrived: float) -> None:
    """Commit first; the 200 goes back only after. Replies go out at once, apart from the
    request."""
    if inbound is None:
        return
    result = await web.writer.handle(inbound)
    if result.duplicate:
        log.debug("%s: a provider retry of a message already taken in", inbound.channel)
        return
    web.app.metrics.inbound.labels(inbound.channel).inc()
    log.debug(
        "%s: message taken in; %d replies queued (%d crisis)",
        inbound.channel,
        len(result.outbox_ids),
        len(result.crisis_ids),
    )
    if result.outbox_ids:
        web.sender.apart(_reply(web, inbound.channel, result, arrived))


async def _reply(web: Web, channel: str, result: InboundResult, arrived: float) -> None:
    if result.crisis_ids:
        sent = await web.sender.crisis(result.crisis_ids) >= len(result.crisis_ids)
        metrics = web.app.metrics
        metrics.crisis_replies.labels(channel, "sent" if sent else "queued").inc()
        if sent:
            metrics.crisis_reply_seconds.labels(channel).observe(time.perf_counter() - arrived)
    rest = [i for i in result.outbox_ids if i not in result.crisis_ids]
    if rest:
        await web.sender.send([], rest)
