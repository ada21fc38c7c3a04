"""/metrics for Prometheus, only to a scraper that bears METRICS_TOKEN (docs/deploy.md).

The web process serves it on its own port, at /metrics, when METRICS_TOKEN is set (unset, the
route does not exist). A worker has no web app, so with METRICS_PORT it serves the same page from
a small thread of its own, behind the same token.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, make_wsgi_app
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.metrics import Metrics
from bot.web.deps import web_of

log = logging.getLogger(__name__)
UNAUTHORIZED = "metrics need the bearer token (METRICS_TOKEN)"


def bearer_ok(token: str, authorization: str | None) -> bool:
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.encode(), given.strip().encode("utf-8", "surrogatepass"))


async def metrics(request: Request) -> Response:
    app = web_of(request).app
    if not bearer_ok(app.settings.metrics_token, request.headers.get("Authorization")):
        return PlainTextResponse(UNAUTHORIZED, 401, headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(generate_latest, app.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # one line a scrape to stderr is noise, not a record of anything


def serve_metrics(metrics_: Metrics, token: str, port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Serve /metrics from a daemon thread (a worker's); call .shutdown() to stop it."""
    page = make_wsgi_app(metrics_.registry)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not bearer_ok(token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [UNAUTHORIZED.encode()]
        return page(environ, start_response)  # type: ignore[no-any-return]

    server = make_server(host, port, guarded, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served on port %d", server.server_port)
    return server
