"""Health for load balancers and platforms: /healthz (is the process up), /readyz (can it work)."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.web.deps import web_of

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    """The process answers. Touches nothing: no database, so a long write elsewhere, or a
    database that is down, never makes a platform restart a web process that is fine."""
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    """Ready to take webhooks: the database answers a read, a program is loaded, channels are
    on. What failed is named; the database's own error text stays in the log, never the reply."""
    app = web_of(request).app
    problem = await run_in_threadpool(app.runtime.database_problem)
    database = problem is None
    if problem is not None:
        log.warning("readyz: the database did not answer: %s", problem)
    try:
        app.ctx.program.current  # noqa: B018 - raises when no valid program is loaded
        program = True
    except RuntimeError:
        program = False
    channels = sorted(app.channels)
    ready = database and program and bool(channels)
    body = {"ready": ready, "database": database, "program": program, "channels": channels}
    return JSONResponse(body, 200 if ready else 503)
