"""The ASGI app: routes to the webhook handlers and the web process's helpers, nothing else.

Stateless, so N replicas can run behind a load balancer: all state is in the database. The
handlers are module functions (webhooks, status, unsubscribe, health) calling runtime services.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Mount, Route

from bot.app import App
from bot.channels.webhook_auth import SendGridEventVerifier
from bot.settings import ConfigError
from bot.web.deps import WEB_RELOAD_CHECK_S, Web
from bot.web.guard import BodyLimit, guarded
from bot.web.health import healthz, readyz
from bot.web.inbound_writer import InboundWriter
from bot.web.metrics import metrics
from bot.web.mydata import mydata
from bot.web.replies import ReplySender
from bot.web.status import sendgrid_events, twilio_status
from bot.web.unsubscribe import unsubscribe
from bot.web.webhooks import sendgrid_inbound, telegram, twilio_sms

# Each channel's webhooks exist only while that channel is on: a route for a channel that is off
# is one more door with nothing behind it but the code that reads it.
CHANNEL_ROUTES: dict[str, list[BaseRoute]] = {
    "sms": [
        Route("/webhooks/twilio/sms", guarded(twilio_sms), methods=["POST"]),
        Route("/webhooks/twilio/status", guarded(twilio_status), methods=["POST"]),
    ],
    "telegram": [Route("/webhooks/telegram", guarded(telegram), methods=["POST"])],
    "email": [
        Route("/webhooks/sendgrid/inbound", guarded(sendgrid_inbound), methods=["POST"]),
        Route("/webhooks/sendgrid/events", guarded(sendgrid_events), methods=["POST"]),
        Route("/unsubscribe/{token}", guarded(unsubscribe), methods=["GET", "POST"]),
    ],
}
HEALTH_ROUTES: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]


def routes_for(app: App) -> list[BaseRoute]:
    routes = list(HEALTH_ROUTES)
    for channel, channel_routes in CHANNEL_ROUTES.items():
        if channel in app.channels:
            routes.extend(channel_routes)
    if {"sms", "telegram"} & set(app.channels):  # MYDATA's link (on email, an attachment)
        routes.append(Route("/mydata/{token}", guarded(mydata), methods=["GET", "POST"]))
    if app.settings.metrics_token:
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    return routes


def create_app(app: App) -> Starlette:
    # One thread takes every webhook's message in, several a transaction (inbound_writer.py).
    verifier = event_verifier(app.settings.sendgrid_event_public_key)
    writer = InboundWriter(app.runtime, app.ctx.program, WEB_RELOAD_CHECK_S)
    web = Web(app, ReplySender(app.dispatcher), writer, verifier)
    routes = routes_for(app)
    console = None
    if app.settings.console_enabled:
        from bot.console.app import MOUNT, create_console

        console_app, console = create_console(app)
        routes.append(Mount(MOUNT, app=console_app))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await web.sender.drain()  # replies being sent go out before the app closes
        writer.close()
        if console:
            await run_in_threadpool(console.close)
        await app.aclose()

    starlette = Starlette(routes=routes, lifespan=lifespan)
    starlette.state.web = web
    starlette.add_middleware(BodyLimit, max_bytes=app.settings.max_body_bytes)
    return starlette


def event_verifier(public_key: str) -> SendGridEventVerifier | None:
    """The Event Webhook checker, or None when no key is set (every event post is then refused)."""
    if not public_key.strip():
        return None
    try:
        return SendGridEventVerifier(public_key)
    except ValueError as exc:
        # Stop at startup, naming the variable, rather than refuse every event.
        raise ConfigError(f"SENDGRID_EVENT_PUBLIC_KEY is not usable: {exc}") from exc
