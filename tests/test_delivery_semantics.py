"""Delivery semantics (issue 12: 3, 4, 6): every message ends sent, failed (with a reason), expired
or cancelled; each send is recorded as soon as its outcome is known; a database error while
recording is retried; stopping drains what is in flight; STOP recalls a claimed message."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError

from bot.app import App, build
from bot.channels.base import OutboundMessage, SendOutcome, SendResult
from bot.runtime import turn
from bot.runtime.outbox import outcomes
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from tests.test_dispatcher_batches import NOW, queue


class Scripted:
    """Telegram answering what the test says; `hold` makes sends wait until released."""

    name = "telegram"

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.outcome = outcome
        self.sent: list[OutboundMessage] = []
        self.calls = 0
        self.hold_from: int | None = None  # the nth call (1-based) and later wait for `release`
        self.release: asyncio.Event | None = None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        if self.hold_from is not None and self.calls >= self.hold_from:
            self.release = self.release or asyncio.Event()
            await self.release.wait()
        if self.outcome == SendOutcome.SENT:
            self.sent.append(message)
        return SendResult(self.outcome, provider_id=f"p{message.id}", detail="scripted")

    async def aclose(self) -> None:
        return None


CLOCK = [NOW]  # the virtual clock run_until_done moves


def migrated(db_url: str) -> str:
    engine = make_engine(db_url)
    upgrade(engine)  # SQLite does this itself; PostgreSQL has the release step
    engine.dispose()
    return db_url


def make(db_url: str, channel: Scripted, **settings: Any) -> App:
    CLOCK[0] = NOW
    migrated(db_url)
    return build(
        Settings(database_url=db_url, **settings),
        channels={"telegram": channel},  # type: ignore[dict-item]
        clock=lambda: CLOCK[0],
        rate_limits=False,
    )


@pytest.fixture
def made(db_url: str) -> Iterator[tuple[App, Scripted]]:
    channel = Scripted()
    app = make(db_url, channel)
    yield app, channel
    asyncio.run(app.aclose())


def rows(app: App) -> list[tuple[str, str | None, int]]:
    with app.ctx.db() as db:
        query = select(
            m.OutboundMessage.status, m.OutboundMessage.reason, m.OutboundMessage.attempts
        )
        return [tuple(r) for r in db.execute(query.order_by(m.OutboundMessage.id))]  # type: ignore[misc]


def run_until_done(app: App, rounds: int = 50) -> None:
    """Dispatch, then move the clock to the next retry, until nothing is queued."""
    now = NOW
    for _ in range(rounds):
        CLOCK[0] = now
        asyncio.run(app.dispatcher.drain(now))
        with app.ctx.db() as db:
            due = db.scalar(
                select(m.OutboundMessage.not_before).where(m.OutboundMessage.status == "queued")
            )
        if due is None:
            return
        now = max(now + timedelta(seconds=1), due)
    raise AssertionError("still queued")


# --- 3: an attempt limit, an expiry, permanent errors -----------------------------------------
def test_a_provider_that_always_fails_ends_the_message_failed_after_its_attempt_limit(
    db_url: str,
) -> None:
    # given a provider answering 500 for ever, and three attempts allowed
    app = make(db_url, Scripted(SendOutcome.RETRY), send_attempts=3)
    try:
        queue(app, 1)
        with app.ctx.db.begin() as db:  # a message that does not expire today
            db.execute(update(m.OutboundMessage).values(expires_at=None))
        # when the worker keeps trying as retries fall due
        run_until_done(app)
        # then the message ends failed after three tries, not queued for ever
        assert rows(app) == [("failed", "attempts", 3)]
    finally:
        asyncio.run(app.aclose())


def test_a_lesson_is_expired_not_sent_after_its_day(db_url: str) -> None:
    # given a lesson that expires in an hour, and a provider that fails until then
    channel = Scripted(SendOutcome.RETRY)
    app = make(db_url, channel, send_attempts=1000)
    try:
        queue(app, 2)
        with app.ctx.db.begin() as db:
            db.execute(update(m.OutboundMessage).values(expires_at=NOW + timedelta(hours=1)))
            # and a second one whose day was over before any worker saw it
            db.execute(
                update(m.OutboundMessage)
                .where(m.OutboundMessage.id == 2)
                .values(expires_at=NOW - timedelta(minutes=1))
            )
        # when the worker retries
        run_until_done(app)
        # then the first is expired once its next try would fall after its day; the second was
        # expired without a send
        assert rows(app)[0][:2] == ("expired", "day_over")
        assert rows(app)[1] == ("expired", "day_over", 0)
        assert channel.calls == rows(app)[0][2]
    finally:
        asyncio.run(app.aclose())


def test_a_message_no_process_can_send_still_ends_expired_after_its_day(db_url: str) -> None:
    """A channel turned off (its credentials removed) or down for days: its rows were never
    claimed, so they were never expired either; they stayed queued for ever, counted in the
    outbox depth, though nothing could make them worth sending. The worker's hourly upkeep ends
    them."""
    from bot.worker import Worker

    app = make(db_url, Scripted())
    try:
        queue(app, 3)
        with app.ctx.db.begin() as db:
            # two rows on a channel this process does not have: one past its day, one not
            db.execute(
                update(m.OutboundMessage)
                .where(m.OutboundMessage.id.in_((1, 2)))
                .values(channel="email")
            )
            db.execute(
                update(m.OutboundMessage)
                .where(m.OutboundMessage.id.in_((1, 3)))
                .values(expires_at=NOW - timedelta(minutes=1))
            )
            db.execute(
                update(m.OutboundMessage)
                .where(m.OutboundMessage.id == 2)
                .values(expires_at=NOW + timedelta(hours=1))
            )
        # when the worker's upkeep runs
        Worker(app).housekeeping()

        # then the rows past their day ended expired, whatever their channel; the other waits
        assert rows(app) == [
            ("expired", "day_over", 0),
            ("queued", None, 0),
            ("expired", "day_over", 0),
        ]
    finally:
        asyncio.run(app.aclose())


@pytest.mark.parametrize(
    "outcome,reason",
    [
        (SendOutcome.REJECTED, "rejected"),
        (SendOutcome.INVALID_ADDRESS, "invalid_address"),
        (SendOutcome.OPTED_OUT, "opted_out"),
    ],
)
def test_a_permanent_error_fails_at_once(db_url: str, outcome: SendOutcome, reason: str) -> None:
    app = make(db_url, Scripted(outcome))
    try:
        queue(app, 1)
        run_until_done(app)
        assert rows(app) == [("failed", reason, 1)]
    finally:
        asyncio.run(app.aclose())


def test_a_crisis_reply_that_cannot_be_delivered_alerts_staff(db_url: str) -> None:
    # given a family's crisis reply to an address that can never receive, and someone on call
    app = make(
        db_url,
        Scripted(SendOutcome.INVALID_ADDRESS),
        staff_alert_email="oncall@example.org",
        org_contact="call 555-0100",
    )
    try:
        queue(app, 1)
        with app.ctx.db.begin() as db:
            db.execute(update(m.OutboundMessage).values(kind="crisis", expires_at=None))
        # when it is sent and refused
        asyncio.run(app.dispatcher.dispatch(NOW))
        # then it failed, and staff have an urgent alert and a notice to reach the family
        with app.ctx.db() as db:
            alerts = db.scalars(select(m.Alert)).all()
            notices = db.scalars(
                select(m.OutboundMessage).where(m.OutboundMessage.contact_id.is_(None))
            ).all()
        assert rows(app)[0] == ("failed", "invalid_address", 1)
        assert [(a.tier, a.priority) for a in alerts] == [("undelivered", 1)]
        assert [n.address for n in notices] == ["oncall@example.org"]
    finally:
        asyncio.run(app.aclose())


# --- 4: recorded as soon as known; a database error is retried; SIGTERM drains ---------------
def test_each_send_is_recorded_as_soon_as_its_outcome_is_known(db_url: str) -> None:
    # given five lessons, sent one at a time, the fourth hanging at the provider
    channel = Scripted()
    channel.hold_from = 4
    app = make(db_url, channel)
    app.dispatcher.concurrency = 1
    try:
        queue(app, 5)

        async def scenario() -> list[tuple[str, str | None, int]]:
            sending = asyncio.create_task(app.dispatcher.dispatch(NOW))
            while channel.calls < 4:
                await asyncio.sleep(0.01)
            for _ in range(200):  # the first three outcomes reach the database meanwhile
                seen = await asyncio.to_thread(rows, app)
                if [s for s, _, _ in seen].count("sent") == 3:
                    break
                await asyncio.sleep(0.01)
            assert channel.release is not None
            channel.release.set()
            await sending
            return seen

        # when the fourth is in flight
        seen = asyncio.run(scenario())
        # then the three before it are already recorded: a crash now would re-send one, not four
        assert [s for s, _, _ in seen] == ["sent", "sent", "sent", "sending", "sending"]
        assert [s for s, _, _ in rows(app)] == ["sent"] * 5
    finally:
        asyncio.run(app.aclose())


def test_a_database_error_while_recording_is_retried_and_never_raised(
    made: tuple[App, Scripted], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database that refuses the first two attempts to record (SQLite busy, say)
    app, channel = made
    queue(app, 3)
    real, failures = outcomes.record, [0]

    def flaky(*args: Any) -> None:
        if failures[0] < 2:
            failures[0] += 1
            raise OperationalError("UPDATE outbound_messages", {}, Exception("database is locked"))
        real(*args)

    monkeypatch.setattr(outcomes, "record", flaky)
    # when the worker sends
    report = asyncio.run(app.dispatcher.dispatch(NOW))
    # then nothing was raised, every outcome was recorded once, nothing went twice
    assert failures[0] == 2 and report.sent == 3
    assert [s for s, _, _ in rows(app)] == ["sent"] * 3
    assert len(channel.sent) == 3


def test_stopping_drains_what_is_in_flight_and_gives_the_rest_back(db_url: str) -> None:
    # given three lessons, one at a time, the first in flight when the worker is told to stop
    channel = Scripted()
    channel.hold_from = 1
    app = make(db_url, channel)
    app.dispatcher.concurrency = 1
    try:
        queue(app, 3)

        async def scenario() -> None:
            sending = asyncio.create_task(app.dispatcher.drain(NOW))
            while channel.calls < 1:
                await asyncio.sleep(0.01)
            app.dispatcher.stop()  # SIGTERM
            assert channel.release is not None
            channel.release.set()
            await sending
            await app.dispatcher.idle()

        asyncio.run(scenario())
        # then the one in flight was sent and recorded; the others are queued again, untouched
        assert rows(app) == [("sent", None, 1), ("queued", None, 0), ("queued", None, 0)]
        assert len(channel.sent) == 1
    finally:
        asyncio.run(app.aclose())


# --- 6: STOP recalls what a worker already claimed ---------------------------------------------
def test_stop_cancels_a_message_already_claimed(made: tuple[App, Scripted]) -> None:
    # given a nudge a worker has claimed
    app, channel = made
    queue(app, 1)
    batch = app.dispatcher.claim(NOW, 10)
    assert len(batch) == 1
    # when the family's STOP is committed before the worker sends it
    with app.ctx.db.begin() as db:
        turn.opt_out(app.ctx, db, 1, "telegram", "self", "STOP", NOW)
    asyncio.run(app.dispatcher.send_all(batch))
    # then it is never sent
    assert channel.sent == []
    assert rows(app) == [("cancelled", "opted_out", 1)]


def test_rows_of_other_kinds_are_recorded_in_the_new_columns(db_url: str) -> None:
    # the outbox accepts rows without the optional columns (staff notices, older writers)
    app = make(db_url, Scripted())
    try:
        with app.ctx.db.begin() as db:
            db.execute(
                insert(m.OutboundMessage),
                [
                    {
                        "contact_id": None,
                        "channel": "telegram",
                        "address": "4242",
                        "message_id": "staff.alert",
                        "kind": "crisis",
                        "text": "notice",
                        "status": "queued",
                        "not_before": NOW,
                        "attempts": 0,
                        "created_at": NOW,
                    }
                ],
            )
        asyncio.run(app.dispatcher.drain(NOW))
        assert rows(app) == [("sent", None, 1)]
    finally:
        asyncio.run(app.aclose())


# --- 12: a channel's rate limit holds across every process -------------------------------------
class Clocked:
    """Telegram that notes when each send reached it (one list for every process)."""

    name = "telegram"

    def __init__(self, arrivals: list[float]) -> None:
        self.arrivals = arrivals

    async def send(self, message: OutboundMessage) -> SendResult:
        self.arrivals.append(time.monotonic())
        return SendResult(SendOutcome.SENT, provider_id=f"p{message.id}")

    async def aclose(self) -> None:
        return None


def test_three_workers_together_keep_one_channel_rate(db_url: str) -> None:
    # given 60 due messages and three workers, each with Telegram at 20 a second
    arrivals: list[float] = []
    migrated(db_url)
    apps = [
        build(
            Settings(database_url=db_url, telegram_rate_per_s=20, telegram_per_chat_interval_s=0),
            channels={"telegram": Clocked(arrivals)},  # type: ignore[dict-item]
            clock=lambda: NOW,
        )
        for _ in range(3)
    ]
    try:
        queue(apps[0], 60)

        # when all three send at once, each claiming 20 at a time, as workers with a backlog do
        def work(app: App) -> None:
            async def loop() -> None:
                for _ in range(30):
                    await app.dispatcher.dispatch(NOW, 20)
                    if await asyncio.to_thread(
                        lambda: [s for s, _, _ in rows(app)].count("sent") == 60
                    ):
                        return

            asyncio.run(loop())

        threads = [threading.Thread(target=work, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # then every message went once, and no second held more than the channel's 20
        assert len(arrivals) == 60
        arrivals.sort()
        busiest = max(bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
        # A send that wakes late for its slot books another (tests/test_shared_pace.py): it
        # never meets the next process's; before that, 20 to 25 were measured here
        assert busiest <= 20, busiest
        assert arrivals[-1] - arrivals[0] >= 2.5
    finally:
        for app in apps:
            asyncio.run(app.aclose())
