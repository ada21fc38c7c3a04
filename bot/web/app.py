"""The ASGI app: signed provider webhooks in, the runtime in a worker thread, replies dispatched after commit.

Stateless, so N replicas can run behind a load balancer: all state is in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app import App
from bot.channels.base import InboundMessage
from bot.channels.sendgrid_email import parse_inbound_email
from bot.channels.telegram import parse_update
from bot.channels.twilio_sms import parse_inbound_sms
from bot.channels.webhook_auth import (
    SendGridEventVerifier,
    public_url,
    sendgrid_inbound_ok,
    telegram_secret_ok,
    twilio_signature_ok,
)
from bot.runtime.effects import opt_out
from bot.runtime.runtime import InboundResult
from bot.settings import ConfigError
from bot.web import status
from bot.web.inbound_writer import InboundWriter
from bot.web.replies import ReplySender
from bot.web.unsubscribe import token_ok
from storage.db import is_sqlite

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SENDGRID_EVENT_STATUS = {"delivered": "delivered", "bounce": "bounced", "dropped": "failed"}
WEB_RELOAD_CHECK_S = 5.0  # how often the web process looks for edited flows and messages
SENDGRID_OPT_OUT = ("unsubscribe", "group_unsubscribe", "spamreport")
URLENCODED = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000  # Starlette's own limit for a form


class BodyLimit:
    """Refuse bodies over the limit with 413, whether or not Content-Length is honest."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await PlainTextResponse("request body too large", 413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await PlainTextResponse("request body too large", 413)(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(app: App) -> Starlette:
    settings = app.settings
    verifier = event_verifier(settings.sendgrid_event_public_key)
    sender = ReplySender(app.dispatcher)
    # SQLite has one writer: one thread writes every webhook, several per commit. PostgreSQL writes
    # concurrently, so there each webhook keeps its own transaction in a worker thread.
    writer = (
        InboundWriter(app.runtime, app.ctx.program, WEB_RELOAD_CHECK_S)
        if is_sqlite(app.engine)
        else None
    )

    def handle(inbound: InboundMessage) -> InboundResult:
        # One thread hop for both: the reload check is throttled, so it is usually just a clock read.
        app.ctx.program.reload_if_changed(WEB_RELOAD_CHECK_S)
        return app.runtime.handle_inbound(inbound)

    async def process(inbound: InboundMessage | None) -> BackgroundTask | None:
        """Commit first; the 200 goes back only after. Replies go out right after the response."""
        if inbound is None:
            return None
        result = await (writer.handle(inbound) if writer else run_in_threadpool(handle, inbound))
        if result.duplicate or not result.outbox_ids:
            return None
        return BackgroundTask(sender.send, result.crisis_ids, result.outbox_ids)

    async def twilio_form(request: Request) -> Any:
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

    async def twilio_sms(request: Request) -> Response:
        form = await twilio_form(request)
        try:
            task = await process(parse_inbound_sms(form))
        except ValueError as exc:
            raise Refused(400, str(exc)) from exc
        return Response(EMPTY_TWIML, 200, media_type="text/xml", background=task)

    async def twilio_status(request: Request) -> Response:
        form = await twilio_form(request)
        sid, state = str(form.get("MessageSid") or ""), str(form.get("MessageStatus") or "")
        if not sid or state not in status.TWILIO:
            raise Refused(400, "a status callback needs MessageSid and a known MessageStatus")

        def record() -> None:
            with app.ctx.db.begin() as db:
                if status.first_report(db, "twilio", f"{sid}:{state}", app.ctx.clock()):
                    status.move_forward(
                        db, sid, status.TWILIO[state], str(form.get("ErrorCode") or "")
                    )

        await run_in_threadpool(record)
        return Response(status_code=204)

    async def telegram(request: Request) -> Response:
        if not telegram_secret_ok(
            settings.telegram_webhook_secret, request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        ):
            raise Refused(403, "secret token does not match")
        try:
            payload = json.loads(await request.body())
            if not isinstance(payload, dict):
                raise ValueError("an update must be a JSON object")
            inbound = parse_update(payload)
        except ValueError as exc:
            raise Refused(400, f"not a Telegram update: {exc}") from exc
        return Response(status_code=200, background=await process(inbound))

    async def sendgrid_inbound(request: Request) -> Response:
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
        return Response(status_code=200, background=await process(inbound))

    async def sendgrid_events(request: Request) -> Response:
        raw = await request.body()
        if verifier is None or not verifier.ok(
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
        await run_in_threadpool(record_email_events, events)
        return Response(status_code=200)

    def record_email_events(events: list[Any]) -> None:
        now = app.ctx.clock()
        with app.ctx.db.begin() as db:
            for event in events:
                if not isinstance(event, dict):
                    continue
                key = str(
                    event.get("sg_event_id") or f"{event.get('sg_message_id')}:{event.get('event')}"
                )
                if not status.first_report(db, "sendgrid", key, now):
                    continue
                outbox_id = str(event.get("outbox_id") or "")
                row = (
                    db.get(status.m.OutboundMessage, int(outbox_id))
                    if outbox_id.isdigit()
                    else None
                )
                kind = str(event.get("event") or "")
                if row is not None and kind in SENDGRID_EVENT_STATUS:
                    status.move_forward(
                        db,
                        row.provider_id or "",
                        SENDGRID_EVENT_STATUS[kind],
                        str(event.get("reason") or ""),
                    )
                if row is not None and row.contact_id and kind in SENDGRID_OPT_OUT:
                    opt_out(db, row.contact_id, "email", "provider", f"SendGrid event: {kind}", now)

    async def unsubscribe(request: Request) -> Response:
        contact_id, token = request.path_params["contact_id"], request.path_params["token"]
        if not token_ok(settings, contact_id, token):
            raise Refused(404, "this unsubscribe link is not valid")
        if request.method == "GET":
            return HTMLResponse(UNSUBSCRIBE_PAGE.format(org=settings.org_name))

        def record() -> None:
            with app.ctx.db.begin() as db:
                opt_out(
                    db, contact_id, "email", "self", "one-click unsubscribe link", app.ctx.clock()
                )

        await run_in_threadpool(record)
        return HTMLResponse(
            f"<p>You are unsubscribed from {settings.org_name} craftbot. We won't email you again.</p>"
        )

    async def healthz(request: Request) -> Response:
        def check() -> None:
            with app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(check)
        except Exception as exc:  # the point of a health check is to say so, not to crash
            return JSONResponse({"ok": False, "database": str(exc)[:200]}, 503)
        return JSONResponse({"ok": True, "channels": sorted(app.channels)})

    routes: list[BaseRoute] = [
        Route("/webhooks/twilio/sms", guarded(twilio_sms), methods=["POST"]),
        Route("/webhooks/twilio/status", guarded(twilio_status), methods=["POST"]),
        Route("/webhooks/telegram", guarded(telegram), methods=["POST"]),
        Route("/webhooks/sendgrid/inbound", guarded(sendgrid_inbound), methods=["POST"]),
        Route("/webhooks/sendgrid/inbound/{token}", guarded(sendgrid_inbound), methods=["POST"]),
        Route("/webhooks/sendgrid/events", guarded(sendgrid_events), methods=["POST"]),
        Route(
            "/unsubscribe/{contact_id:int}/{token}", guarded(unsubscribe), methods=["GET", "POST"]
        ),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    console = None
    if settings.console_enabled:
        from bot.console.app import MOUNT, create_console

        console_app, console = create_console(app)
        routes.append(Mount(MOUNT, app=console_app))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if writer:
            writer.close()
        if console:
            await run_in_threadpool(console.close)
        await app.aclose()

    web = Starlette(routes=routes, lifespan=lifespan)
    web.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return web


async def read_form(request: Request) -> FormData:
    """The posted form. Twilio posts urlencoded forms: those are split and unquoted by the standard
    library, as Starlette does but without its streaming parser (a third of the time, ~0.1 ms a
    webhook); anything else goes Starlette's way."""
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != URLENCODED:
        return await request.form()
    body = await request.body()
    try:  # latin-1 then UTF-8 unquoting, and at most 1,000 fields: what Starlette's parser does
        fields: list[tuple[str, str | UploadFile]] = [
            *parse_qsl(
                body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
            )
        ]
        return FormData(fields)
    except ValueError as exc:
        raise Refused(400, f"malformed form: {exc}") from exc


def event_verifier(public_key: str) -> SendGridEventVerifier | None:
    """The Event Webhook checker, or None when no key is set (every event post is then refused)."""
    if not public_key.strip():
        return None
    try:
        return SendGridEventVerifier(public_key)
    except (
        ValueError
    ) as exc:  # stop at startup, naming the variable, rather than refuse every event
        raise ConfigError(f"SENDGRID_EVENT_PUBLIC_KEY is not usable: {exc}") from exc


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def guarded(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Forgeries and malformed payloads get a clear 4xx and change nothing; never a 500."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as exc:
            log.warning(
                "%s %s refused (%s): %s", request.method, request.url.path, exc.code, exc.reason
            )
            return PlainTextResponse(exc.reason, exc.code)
        except (UnicodeDecodeError, KeyError, TypeError, asyncio.IncompleteReadError) as exc:
            return PlainTextResponse(f"malformed request: {type(exc).__name__}", 400)
        except Exception as exc:
            if type(exc).__name__ in ("MultiPartException", "ClientDisconnect"):
                return PlainTextResponse(f"malformed request: {exc}", 400)
            raise

    return wrapper


UNSUBSCRIBE_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head><body><p>Stop all emails from {org} craftbot?</p>
<form method="post"><button type="submit">Unsubscribe</button></form></body></html>"""
