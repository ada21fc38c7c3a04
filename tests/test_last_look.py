"""The last look before a send (issue 12, soak findings 1 and 2): a STOP or quiet hours that
begin while a claimed message waits for its channel's pace keep it from the provider, and so
does a pause; and a
paced channel is claimed no further ahead, by all workers together, than its pace can send."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import App, build
from bot.runtime import turn
from bot.runtime.outbox.dispatcher import CLAIM_AHEAD_S
from bot.runtime.outbox.outcomes import DispatchReport
from bot.runtime.outbox.pacing import Pace, slot_gap
from bot.runtime.outbox.recorder import Recorder
from bot.settings import Settings
from storage import models as m
from tests.test_delivery_semantics import CLOCK, Scripted, make, migrated, rows
from tests.test_dispatcher_batches import NOW, queue


class Gate(Pace):
    """A channel's pace whose turn comes when the test opens the gate: what happens meanwhile is
    what happens while a real send waits for a shared slot."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()
        self.gate = threading.Event()

    async def wait_turn(self, address: str) -> float:
        self.waiting.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return self.monotonic()


def waiting_send(app: App, meanwhile: Any) -> None:
    """Claim the due row at CLOCK[0], start sending it; while it waits for its turn,
    `meanwhile()`."""
    app.dispatcher.paces["telegram"] = gate = Gate()
    batch = app.dispatcher.claim(CLOCK[0], 10)
    assert len(batch) == 1

    def side() -> None:
        assert gate.waiting.wait(10)
        meanwhile()
        gate.gate.set()

    thread = threading.Thread(target=side)
    thread.start()

    async def send() -> None:
        report = DispatchReport()
        recorder = Recorder(lambda piece: app.dispatcher.record(piece, CLOCK[0], report))
        await app.dispatcher.send_all(batch, recorder.add, report)
        await recorder.flush()

    asyncio.run(send())
    thread.join()


def test_a_stop_committed_while_a_nudge_waits_for_its_pace_keeps_it_back(db_url: str) -> None:
    # given a nudge a worker has claimed, waiting for its channel's shared slot
    channel = Scripted()
    app = make(db_url, channel)
    try:
        queue(app, 1)

        def stop() -> None:  # the family's STOP, committed by a web process meanwhile
            with app.ctx.db.begin() as db:
                turn.opt_out(app.ctx, db, 1, "telegram", "self", "STOP", NOW)

        # when the STOP is committed while it waits
        waiting_send(app, stop)
        # then the nudge never reaches the provider
        assert channel.sent == []
        assert rows(app) == [("cancelled", "opted_out", 1)]
    finally:
        asyncio.run(app.aclose())


def test_a_pause_committed_while_a_lesson_waits_for_its_pace_keeps_it_back(db_url: str) -> None:
    # given a lesson a worker has claimed, waiting for its channel's shared slot
    channel = Scripted()
    app = make(db_url, channel)
    try:
        queue(app, 1)

        def pause() -> None:  # the family is paused (PAUSE, or a coach in the console) meanwhile
            with app.ctx.db.begin() as db:
                assert turn.set_pause(app.ctx, db, 1, True, "self", NOW) == "done"

        # when the pause is committed while it waits
        waiting_send(app, pause)
        # then the lesson never reaches the provider
        assert channel.sent == []
        assert rows(app) == [("cancelled", "paused", 1)]
    finally:
        asyncio.run(app.aclose())


def test_quiet_hours_that_begin_while_a_lesson_waits_give_it_back_for_the_morning(
    db_url: str,
) -> None:
    # given a lesson claimed at 20:59 in New York, waiting for its channel's shared slot
    channel = Scripted()
    app = make(db_url, channel)
    evening = NOW.replace(hour=0, minute=59) + timedelta(days=1)  # 20:59 EDT
    try:
        queue(app, 1)
        CLOCK[0] = evening

        def nine_pm() -> None:  # the slot comes at 21:01: quiet hours began meanwhile
            CLOCK[0] = evening + timedelta(minutes=2)

        # when its turn comes after 21:00
        waiting_send(app, nine_pm)
        # then it is not sent: queued again for 08:00 in New York, its attempt not counted
        assert channel.sent == []
        assert rows(app) == [("queued", None, 0)]
        with app.ctx.db() as db:
            not_before = db.scalar(select(m.OutboundMessage.not_before))
        assert not_before == (evening + timedelta(hours=11, minutes=1))  # 08:00 EDT
    finally:
        asyncio.run(app.aclose())


def test_workers_together_claim_no_further_ahead_than_the_shared_pace_sends(db_url: str) -> None:
    # given 1,000 due messages on Telegram at 20 a second, and two workers
    migrated(db_url)
    apps = [
        build(
            Settings(database_url=db_url, telegram_rate_per_s=20, telegram_per_chat_interval_s=0),
            channels={"telegram": Scripted()},  # type: ignore[dict-item]
            clock=lambda: NOW,
        )
        for _ in range(2)
    ]
    try:
        queue(apps[0], 1000)
        # when both claim
        claimed = [len(app.dispatcher.claim(NOW, 1000)) for app in apps]
        # then together they hold about CLAIM_AHEAD_S of the shared pace, not that much each
        most = int(CLAIM_AHEAD_S / slot_gap(20))
        assert sum(claimed) == most, claimed
        assert claimed[1] == 0
    finally:
        for app in apps:
            asyncio.run(app.aclose())
