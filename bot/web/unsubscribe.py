"""The one-click unsubscribe link of every email: a page to confirm, and the opt-out itself."""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.runtime.outbox.unsubscribe import read_token
from bot.web.deps import web_of
from bot.web.guard import Refused

# The words are the family's language's (messages/<locale>/email.yaml), escaped here.
PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{button}</title></head><body>
<p>{question}</p><form method="post"><button type="submit">{button}</button></form></body></html>"""
DONE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{button}</title></head><body>
<p>{done}</p></body></html>"""
NOT_VALID = "this unsubscribe link is not valid"


async def unsubscribe(request: Request) -> Response:
    """GET shows a button (link scanners must not unsubscribe anyone); POST, as mail clients do
    for List-Unsubscribe-Post, opts out. A link that does not fit its family gets 404, the same
    as a forged one, so nobody learns which ids exist."""
    app = web_of(request).app
    claim = read_token(app.settings, str(request.path_params["token"]))
    if claim is None:
        raise Refused(404, NOT_VALID)
    words = await run_in_threadpool(app.runtime.unsubscribe_words, claim)
    if words is None:
        raise Refused(404, NOT_VALID)
    fill = {
        "lang": escape(words.locale),
        "question": escape(words.question),
        "button": escape(words.button),
        "done": escape(words.done),
    }
    if request.method == "GET":
        return HTMLResponse(PAGE.format(**fill))
    await run_in_threadpool(app.runtime.unsubscribe, claim)
    return HTMLResponse(DONE.format(**fill))
