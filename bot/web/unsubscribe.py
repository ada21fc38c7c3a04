"""The one-click unsubscribe link of every email: a page to confirm, and the opt-out itself."""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.runtime.outbox.unsubscribe import read_token
from bot.web.deps import web_of
from bot.web.guard import Refused

PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head><body><p>Stop all emails from {org} craftbot?</p>
<form method="post"><button type="submit">Unsubscribe</button></form></body></html>"""
NOT_VALID = "this unsubscribe link is not valid"


async def unsubscribe(request: Request) -> Response:
    """GET shows a button (link scanners must not unsubscribe anyone); POST, as mail clients do
    for List-Unsubscribe-Post, opts out. A link that does not fit its family gets 404, the same
    as a forged one, so nobody learns which ids exist."""
    app = web_of(request).app
    claim = read_token(app.settings, str(request.path_params["token"]))
    if claim is None:
        raise Refused(404, NOT_VALID)
    org = escape(app.settings.org_name)
    if request.method == "GET":
        if not await run_in_threadpool(app.runtime.unsubscribe_link_fits, claim):
            raise Refused(404, NOT_VALID)
        return HTMLResponse(PAGE.format(org=org))
    if not await run_in_threadpool(app.runtime.unsubscribe_link_fits, claim):
        raise Refused(404, NOT_VALID)
    await run_in_threadpool(app.runtime.unsubscribe, claim)
    return HTMLResponse(
        f"<p>You are unsubscribed from {org} craftbot. We won't email you again.</p>"
    )
