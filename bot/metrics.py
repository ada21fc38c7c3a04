"""Prometheus metrics: what each process counts, and what the database says when scraped.

One `Metrics` per app, with a registry of its own (no module-level registry: tests build many
apps). Counters and histograms are this process's own; the outbox depth and the open alerts are
read from the database at scrape time, with two small grouped counts, so any process that
serves /metrics reports them the same. Labels are closed sets (channel, status, outcome): never
an address, an id or a word anyone wrote.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from storage.queries import metrics as metrics_sql

log = logging.getLogger(__name__)
# Provider calls take 50 ms to a few seconds; a crisis reply should leave within a second or two.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0)
UNAUTHORIZED = "metrics need the bearer token (METRICS_TOKEN)"


class Metrics:
    def __init__(self, db: Callable[[], AbstractContextManager[Session]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.inbound = Counter(
            "craftbot_inbound_messages",
            "Messages from families taken in by webhook, per channel (provider retries excluded).",
            ["channel"],
            registry=r,
        )
        self.inbound_refused = Counter(
            "craftbot_inbound_refused",
            "Authenticated inbound messages not acted on, per channel and reason "
            "(unverified_sender: an email whose From could not be believed).",
            ["channel", "reason"],
            registry=r,
        )
        self.sends = Counter(
            "craftbot_sends",
            "Provider calls, per channel and outcome (sent, retry, opted_out, invalid_address, "
            "misconfigured, error).",
            ["channel", "outcome"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "craftbot_send_seconds",
            "How long one provider call took, per channel.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.crisis_replies = Counter(
            "craftbot_crisis_replies",
            "Crisis replies to a family's message, per channel and whether the provider took "
            "them at once (sent) or they wait in the outbox for the worker (queued).",
            ["channel", "result"],
            registry=r,
        )
        self.crisis_reply_seconds = Histogram(
            "craftbot_crisis_reply_seconds",
            "From a crisis message's webhook arriving to its reply leaving, per channel.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tick_seconds = Histogram(
            "craftbot_tick_seconds",
            "How long one worker tick took (timers fired, outbox drained, upkeep).",
            buckets=TICK_BUCKETS,
            registry=r,
        )
        if db is not None:
            r.register(DatabaseGauges(db))


class DatabaseGauges(Collector):
    """Read at each scrape: the outbox's waiting rows and the alerts nobody has acknowledged."""

    def __init__(self, db: Callable[[], AbstractContextManager[Session]]) -> None:
        self.db = db

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        depth, alerts = self._families()
        try:
            with self.db() as db:
                for (channel, status), count in metrics_sql.outbox_depth(db).items():
                    depth.add_metric([channel, status], count)
                alerts.add_metric([], metrics_sql.unacknowledged_alerts(db))
        except Exception as exc:  # a scrape must answer; the database's trouble is /readyz's
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            return
        yield depth
        yield alerts

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "craftbot_outbox_depth",
                "Outbox rows not yet settled, per channel and status (queued, sending).",
                labels=["channel", "status"],
            ),
            GaugeMetricFamily(
                "craftbot_alerts_unacknowledged",
                "Crisis alerts open and not yet acknowledged by anyone on the team.",
            ),
        )


def bearer_ok(token: str, authorization: str | None) -> bool:
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.encode(), given.strip().encode("utf-8", "surrogatepass"))


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # one line a scrape to stderr is noise, not a record of anything


class MetricsPage:
    """The metrics page a worker serves from a thread of its own: a worker has no web app."""

    def __init__(self, server: WSGIServer) -> None:
        self.server = server
        self.port = server.server_port
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(metrics: Metrics, token: str, port: int, host: str = "0.0.0.0") -> MetricsPage:
    """Serve the metrics page, behind the token (0 as the port takes any free one)."""
    page = make_wsgi_app(metrics.registry)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not bearer_ok(token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [UNAUTHORIZED.encode()]
        return page(environ, start_response)  # type: ignore[no-any-return]

    page_ = MetricsPage(make_server(host, port, guarded, handler_class=_Quiet))
    log.info("metrics served on port %d", page_.port)
    return page_
