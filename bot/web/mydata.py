"""MYDATA's link (docs/privacy.md): a page with a button, then the family's data as a file, once.

GET only shows the button: a link preview (Telegram, iMessage) or a scanner fetching the page
must not use up a family's single-use link. POST takes it and answers with the file.
"""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.catalog.render import Audience, render
from bot.runtime.family_data import FILE_NAME, MEDIA_TYPE
from bot.web.deps import web_of
from bot.web.guard import Refused

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><meta name="robots" content="noindex">
<title>{button}</title></head><body>
<p>{question}</p><form method="post"><button type="submit">{button}</button></form></body></html>"""
GONE = "this link has been used, has expired or does not exist: reply MYDATA for a new one"
# No page of this route may be kept by a browser or proxy: it is one family's data.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def mydata(request: Request) -> Response:
    app = web_of(request).app
    token = str(request.path_params["token"])
    if request.method == "GET":
        locale = await run_in_threadpool(app.runtime.mydata_locale, token)
        if locale is None:
            raise Refused(404, GONE)
        catalogs, org = app.ctx.program.current.catalogs, app.settings.org_placeholders()

        def words(message_id: str) -> str:
            return escape(render(catalogs, message_id, Audience("web", locale), org))

        page = PAGE.format(
            lang=escape(locale),
            question=words("privacy.link_page"),
            button=words("privacy.link_button"),
        )
        return HTMLResponse(page, headers=PRIVATE)
    data = await run_in_threadpool(app.runtime.take_mydata, token)
    if data is None:
        raise Refused(404, GONE)
    return Response(
        data,
        media_type=MEDIA_TYPE,
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{FILE_NAME}"'},
    )
