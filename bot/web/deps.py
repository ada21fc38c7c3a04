"""What the web handlers are given: the wired app and the web process's own helpers, per request."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.app import App
from bot.channels.webhook_auth import SendGridEventVerifier
from bot.web.inbound_writer import InboundWriter
from bot.web.replies import ReplySender

WEB_RELOAD_CHECK_S = 5.0  # how often the web process looks for edited flows and messages


@dataclass(frozen=True)
class Web:
    app: App
    sender: ReplySender  # sends replies right after their 200
    writer: InboundWriter  # takes every webhook's message, several a transaction
    verifier: SendGridEventVerifier | None  # None: no key set, every event post is refused


def web_of(request: Request) -> Web:
    """The handlers' dependencies, set on the Starlette app by create_app."""
    web: Web = request.app.state.web
    return web
