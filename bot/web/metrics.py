"""/metrics for Prometheus on the web app, only to a scraper that bears METRICS_TOKEN.

Unset, the route does not exist. A worker serves the same page on METRICS_PORT (bot/metrics.py).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.metrics import UNAUTHORIZED, bearer_ok
from bot.web.deps import web_of


async def metrics(request: Request) -> Response:
    app = web_of(request).app
    if not bearer_ok(app.settings.metrics_token, request.headers.get("Authorization")):
        return PlainTextResponse(UNAUTHORIZED, 401, headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(generate_latest, app.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
