"""Prometheus metrics: served only to the bearer of METRICS_TOKEN, and true to what happened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot import metrics
from bot.worker import Worker
from storage import models as m
from tests.e2e import METRICS_TOKEN, Providers, Stack, running_stack

pytestmark = pytest.mark.usefixtures("program_loaded_once")
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


@pytest.fixture(scope="module")
def stack(providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        providers,
        tmp_path_factory.mktemp("metrics"),
        metrics_token=METRICS_TOKEN,
        staff_alert_sms="+15550169",
        org_contact="call 555-0100",
    ) as running:
        yield running


def samples(page: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


def value(page: str, name: str, **labels: str) -> float:
    return samples(page).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_token(stack: Stack) -> None:
    assert stack.http.get("/metrics").status_code == 401
    assert stack.http.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert stack.http.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 401
    assert stack.http.get("/metrics", headers=BEARER).status_code == 200


def test_without_a_token_there_is_no_metrics_page(providers: Providers, tmp_path: Path) -> None:
    with running_stack(providers, tmp_path) as plain:
        assert plain.http.get("/metrics", headers=BEARER).status_code == 404


def test_the_counts_follow_a_conversation_with_a_crisis(stack: Stack) -> None:
    before = stack.http.get("/metrics", headers=BEARER).text

    # when a family joins by SMS and, later, writes about an overdose
    for words in ("hi", "yes"):
        assert stack.sms("+15550168", words).status_code == 200
        stack.settle()
    stack.sms("+15550168", "he took too many pills and won't wake up")
    stack.settle()
    page = stack.http.get("/metrics", headers=BEARER).text

    # then inbound, sends, the crisis reply and its latency, and the open alert all show
    def grew(name: str, **labels: str) -> float:
        return value(page, name, **labels) - value(before, name, **labels)

    assert grew("craftbot_inbound_messages_total", channel="sms") == 3
    assert grew("craftbot_sends_total", channel="sms", outcome="sent") >= 4
    assert grew("craftbot_send_seconds_count", channel="sms") >= 4
    assert grew("craftbot_crisis_replies_total", channel="sms", result="sent") == 1
    assert grew("craftbot_crisis_reply_seconds_count", channel="sms") == 1
    assert value(page, "craftbot_alerts_unacknowledged") == stack.count(m.Alert) >= 1


def test_outbox_depth_and_open_alerts_are_read_from_the_database(stack: Stack) -> None:
    # given a message held for quiet hours, and an alert a coach acknowledged in the console
    with stack.app.ctx.db.begin() as db:
        db.add(
            m.OutboundMessage(
                channel="telegram",
                address="5550168",
                message_id="lesson.x",
                kind="normal",
                text="held",
                status="queued",
                not_before=datetime(2099, 1, 1, tzinfo=UTC),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        alert = db.scalar(select(func.min(m.Alert.id)))
    page = stack.http.get("/metrics", headers=BEARER).text
    with stack.app.ctx.db() as db:
        queued = db.scalar(
            select(func.count())
            .select_from(m.OutboundMessage)
            .where(m.OutboundMessage.channel == "telegram", m.OutboundMessage.status == "queued")
        )
    assert value(page, "craftbot_outbox_depth", channel="telegram", status="queued") == queued
    open_before = value(page, "craftbot_alerts_unacknowledged")
    assert stack.app.runtime.acknowledge_alert(alert, "Dana", "console") == "done"
    page = stack.http.get("/metrics", headers=BEARER).text
    assert value(page, "craftbot_alerts_unacknowledged") == open_before - 1


def test_a_worker_serves_its_tick_durations_behind_the_same_token(stack: Stack) -> None:
    # given a worker's tick, and its metrics page on a port of its own
    stack.server.run(Worker(stack.app).tick())
    server = metrics.serve(stack.app.metrics, METRICS_TOKEN, 0, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.port}/metrics"
    try:
        refused = httpx.get(url)
        page = httpx.get(url, headers=BEARER)
    finally:
        server.close()
    assert refused.status_code == 401
    assert value(page.text, "craftbot_tick_seconds_count") >= 1


def test_a_scrape_answers_while_the_database_is_down(stack: Stack) -> None:
    gauges = metrics.DatabaseGauges(lambda: _broken())
    assert list(gauges.collect()) == []


def _broken() -> object:
    raise OSError("database down")
