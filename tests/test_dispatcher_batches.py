"""The dispatcher's claim and record on SQLite: exclusive claims from a snapshot, outcomes recorded
in pieces."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.app import App, build
from bot.channels.base import OutboundMessage, SendOutcome, SendResult
from bot.channels.console import ConsoleChannel
from bot.runtime.outbox.dispatcher import RECORD_EVERY, DispatchReport
from bot.settings import Settings
from storage import models as m

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York: nobody's quiet hours


def make_app(db_url: str, channel: object) -> App:
    return build(
        Settings(database_url=db_url),
        channels={"telegram": channel},  # type: ignore[dict-item]
        clock=lambda: NOW,
        rate_limits=False,
    )


def queue(app: App, families: int, per_family: int = 1) -> None:
    """`families` Telegram contacts with `per_family` lessons each, due now."""
    with app.ctx.db.begin() as db:
        db.execute(
            insert(m.Contact),
            [
                {
                    "id": i,
                    "channel": "telegram",
                    "address": str(5550100 + i),
                    "status": "active",
                    "timezone": "America/New_York",
                    "session": "{}",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(1, families + 1)
            ],
        )
        db.execute(
            insert(m.OutboundMessage),
            [
                {
                    "contact_id": i,
                    "channel": "telegram",
                    "address": str(5550100 + i),
                    "message_id": f"lesson.{k}",
                    "kind": "normal",
                    "text": f"Lesson {k} for family {i}",
                    "status": "queued",
                    "not_before": NOW - timedelta(minutes=1),
                    "attempts": 0,
                    "created_at": NOW,
                }
                for k in range(per_family)
                for i in range(1, families + 1)
            ],
        )


def statuses(app: App) -> dict[str, int]:
    with app.ctx.db() as db:
        rows = db.execute(select(m.OutboundMessage.status)).scalars().all()
    return {s: rows.count(s) for s in set(rows)}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'outbox.db'}"


@pytest.fixture
def delivered() -> list[OutboundMessage]:
    return []


@pytest.fixture
def app(db_url: str, delivered: list[OutboundMessage]) -> Iterator[App]:
    built = make_app(db_url, ConsoleChannel(delivered.append, "telegram"))
    yield built
    asyncio.run(built.aclose())


def test_a_second_worker_never_claims_rows_the_first_holds(app: App, db_url: str) -> None:
    # given 30 due lessons and two workers on one SQLite file
    queue(app, 30)
    other = make_app(db_url, ConsoleChannel(lambda _: None, "telegram"))
    try:
        # when the first claims 10 and the second then claims all it can
        first = app.dispatcher.claim(NOW, 10)
        second = other.dispatcher.claim(NOW, 1000)
        third = other.dispatcher.claim(NOW, 1000)
    finally:
        asyncio.run(other.aclose())
    # then they share nothing, and nothing is left over
    assert len(first) == 10 and len(second) == 20 and third == []
    assert not {msg.id for msg in first} & {msg.id for msg in second}
    assert [msg.id for msg in first] == sorted(msg.id for msg in first)  # oldest first


def test_a_big_batch_is_recorded_in_short_pieces_and_every_row_lands(
    app: App, delivered: list[OutboundMessage]
) -> None:
    # given more due lessons than one piece of recording holds
    queue(app, RECORD_EVERY * 3 + 7)
    pieces: list[int] = []
    record = app.dispatcher.record

    def counting(
        results: list[tuple[OutboundMessage, SendResult]], now: datetime, report: DispatchReport
    ) -> None:
        pieces.append(len(results))
        record(results, now, report)

    app.dispatcher.record = counting  # type: ignore[method-assign]
    # when one batch is dispatched
    report = asyncio.run(app.dispatcher.dispatch(limit=1000))
    # then every lesson went once and is written down as sent, a few hundred rows per transaction
    assert (
        report.sent == RECORD_EVERY * 3 + 7 == len(delivered) == len({msg.id for msg in delivered})
    )
    assert statuses(app) == {"sent": RECORD_EVERY * 3 + 7}
    assert len(pieces) >= 3 and max(pieces) <= RECORD_EVERY and sum(pieces) == report.sent


def test_one_family_s_messages_still_go_in_the_order_written(
    app: App, delivered: list[OutboundMessage]
) -> None:
    queue(app, 40, per_family=3)
    asyncio.run(app.dispatcher.drain())
    by_family: dict[str, list[str]] = {}
    for msg in delivered:
        by_family.setdefault(msg.address, []).append(msg.text.split()[1])
    assert len(by_family) == 40 and all(order == ["0", "1", "2"] for order in by_family.values())


class BlockedAfterFirst:
    """Telegram as seen when a family blocks the bot while its messages are in flight."""

    name = "telegram"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        if self.calls == 1:
            return SendResult(
                SendOutcome.OPTED_OUT, detail="Forbidden: bot was blocked by the user"
            )
        return SendResult(SendOutcome.RETRY, detail="NetworkError: connection reset")

    async def aclose(self) -> None:
        return None


def test_a_family_that_blocks_the_bot_is_not_retried_later(db_url: str) -> None:
    # given one family with two lessons due; the first is refused as blocked, the second fails
    channel = BlockedAfterFirst()
    app = make_app(db_url, channel)
    try:
        queue(app, 1, per_family=2)
        # when both are sent in one batch
        report = asyncio.run(app.dispatcher.dispatch())
        # then the family is opted out and the second lesson is cancelled, never queued for a retry:
        # whether it was already in flight (tried, failed) or not yet (cancelled before its send)
        with app.ctx.db() as db:
            contact = db.scalars(select(m.Contact)).one()
            query = select(m.OutboundMessage.status, m.OutboundMessage.reason)
            rows = [tuple(r) for r in db.execute(query.order_by(m.OutboundMessage.id))]
        assert contact.status == "opted_out"
        assert rows == [("failed", "opted_out"), ("cancelled", "opted_out")]
        assert report.failed == 1 and report.retried + report.suppressed == 1
        assert channel.calls == 1 + report.retried
    finally:
        asyncio.run(app.aclose())
