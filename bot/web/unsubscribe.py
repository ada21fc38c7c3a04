"""The one-click unsubscribe link of every email: a page to confirm, and the opt-out itself."""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.runtime.outbox.unsubscribe import token_ok
from bot.web.deps import web_of
from bot.web.guard import Refused

# The words are the family's language's (messages/<locale>/email.yaml), escaped here.
PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{button}</title></head><body>
<p>{question}</p><form method="post"><button type="submit">{button}</button></form></body></html>"""
DONE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{button}</title></head><body>
<p>{done}</p></body></html>"""


async def unsubscribe(request: Request) -> Response:
    app = web_of(request).app
    contact_id, token = request.path_params["contact_id"], request.path_params["token"]
    if not token_ok(app.settings, contact_id, token):
        raise Refused(404, "this unsubscribe link is not valid")
    words = await run_in_threadpool(app.runtime.unsubscribe_words, contact_id)
    fill = {
        "lang": escape(words.locale),
        "question": escape(words.question),
        "button": escape(words.button),
        "done": escape(words.done),
    }
    if request.method == "GET":
        return HTMLResponse(PAGE.format(**fill))
    await run_in_threadpool(app.runtime.unsubscribe, contact_id)
    return HTMLResponse(DONE.format(**fill))
