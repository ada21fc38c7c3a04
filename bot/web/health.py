"""The health check a load balancer asks: does the database answer, which channels are on."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.web.deps import web_of


async def healthz(request: Request) -> Response:
    app = web_of(request).app
    problem = await run_in_threadpool(app.runtime.database_problem)
    if problem is not None:
        return JSONResponse({"ok": False, "database": problem}, 503)
    return JSONResponse({"ok": True, "channels": sorted(app.channels)})
