"""The one-click unsubscribe link of every email: a page to confirm, and the opt-out itself."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.runtime.outbox.unsubscribe import token_ok
from bot.web.deps import web_of
from bot.web.guard import Refused

PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head><body><p>Stop all emails from {org} craftbot?</p>
<form method="post"><button type="submit">Unsubscribe</button></form></body></html>"""


async def unsubscribe(request: Request) -> Response:
    app = web_of(request).app
    contact_id, token = request.path_params["contact_id"], request.path_params["token"]
    if not token_ok(app.settings, contact_id, token):
        raise Refused(404, "this unsubscribe link is not valid")
    org = app.settings.org_name
    if request.method == "GET":
        return HTMLResponse(PAGE.format(org=org))
    await run_in_threadpool(app.runtime.unsubscribe, contact_id)
    return HTMLResponse(
        f"<p>You are unsubscribed from {org} craftbot. We won't email you again.</p>"
    )
