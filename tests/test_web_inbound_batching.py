"""Webhooks handled together on SQLite's one writer, and replies claimed together: same answers,
fewer commits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.runtime import turn as turn_module
from bot.runtime.outbox.dispatcher import DispatchReport
from bot.settings import Settings
from bot.web.inbound_writer import InboundWriter
from bot.web.replies import GROUPS_IN_FLIGHT, ReplySender
from storage import models as m

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path, program_loaded_once: None) -> Iterator[App]:
    built = build(
        Settings(database_url=f"sqlite:///{tmp_path}/batch.db"), channels={}, clock=lambda: NOW
    )
    yield built
    built.engine.dispose()


def rows(app: App, model: type[m.Base]) -> int:
    with app.ctx.db() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def hello(n: int, text: str = "hi", sid: str | None = None) -> InboundMessage:
    return InboundMessage("sms", f"+155501{n:02d}", text, sid or f"SM-batch-{n}")


def test_messages_handled_together_each_get_their_own_answer(app: App) -> None:
    # given two new family members' first messages, and a provider retry of the first, in one group
    group = [hello(1), hello(2), hello(1)]
    # when they are handled together
    first, second, retry = app.runtime.handle_inbound_many(group)
    # then each family is answered once, and the retry changes nothing
    assert (
        not isinstance(first, Exception)
        and not isinstance(second, Exception)
        and not isinstance(retry, Exception)
    )
    assert (first.duplicate, second.duplicate, retry.duplicate) == (False, False, True)
    assert first.contact_id != second.contact_id and first.outbox_ids and second.outbox_ids
    assert rows(app, m.InboundMessage) == 2
    assert rows(app, m.OutboundMessage) == len(first.outbox_ids) + len(second.outbox_ids)


def test_a_message_that_breaks_fails_only_itself(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a message the engine cannot handle, between two it can
    real_step = turn_module.step

    def step(program: Any, session: Any, input_: Any, now: datetime, today: Any = None) -> Any:
        if getattr(input_, "text", "") == "breaks":
            raise RuntimeError("the engine failed on this message")
        return real_step(program, session, input_, now, today)

    monkeypatch.setattr(turn_module, "step", step)
    # when the three are handled together
    before, broken, after = app.runtime.handle_inbound_many(
        [hello(3), hello(4, "breaks"), hello(5)]
    )
    # then the broken one reports its error and stores nothing; the other two families are answered
    assert isinstance(broken, RuntimeError)
    assert not isinstance(before, Exception) and before.outbox_ids
    assert not isinstance(after, Exception) and after.outbox_ids
    assert rows(app, m.InboundMessage) == 2


async def test_webhooks_at_once_share_commits_and_each_get_their_answer(app: App) -> None:
    # given the web app's writer, and a count of commits
    commits: list[int] = []
    event.listen(app.engine, "commit", lambda _conn: commits.append(1))
    writer = InboundWriter(app.runtime, app.ctx.program, 5.0)
    try:
        # when 30 family members write at the same moment
        results = await asyncio.gather(*(writer.handle(hello(n)) for n in range(30)))
    finally:
        writer.close()
    # then every one is answered, for their own contact, in fewer commits than webhooks
    assert all(not r.duplicate and r.outbox_ids for r in results)
    assert len({r.contact_id for r in results}) == 30
    assert rows(app, m.InboundMessage) == 30
    assert len(commits) < 30


class SlowDispatcher:
    """Records each dispatch call; an everyday claim takes a while, as a real claim and send do."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], float]] = []

    async def dispatch(
        self, now: datetime | None = None, limit: int = 1000, ids: list[int] | None = None
    ) -> DispatchReport:
        self.calls.append((list(ids or []), asyncio.get_running_loop().time()))
        if (
            ids and ids[0] < 1000
        ):  # everyday replies here have ids under 1000; crisis replies 1000 and up
            await asyncio.sleep(0.2)
        return DispatchReport()


async def test_replies_waiting_together_go_in_one_claim_and_a_crisis_never_waits() -> None:
    # given replies from 20 webhooks, sent while an earlier claim is still running
    dispatcher = SlowDispatcher()
    sender = ReplySender(dispatcher)  # type: ignore[arg-type]
    earlier = asyncio.create_task(sender.send([], [1]))
    await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    everyday = [asyncio.create_task(sender.send([], [10 + n])) for n in range(20)]
    # when a crisis reply comes meanwhile
    await sender.send([1000], [1000, 1001])
    await asyncio.gather(earlier, *everyday)
    # then the crisis reply was dispatched at once, not behind the everyday claim
    [crisis_at] = [at for ids, at in dispatcher.calls if ids == [1000]]
    assert crisis_at - started < 0.1
    claimed = [ids for ids, _ in dispatcher.calls]
    # and the 20 waiting replies (and the crisis family's other message) went in one claim, each
    # once
    together = [ids for ids in claimed if 10 in ids]
    assert len(together) == 1 and sorted(together[0]) == [*range(10, 30), 1001]


async def test_a_later_reply_does_not_wait_for_an_earlier_groups_sends() -> None:
    # given an earlier group of replies whose sends take a while (a paced channel)
    dispatcher = SlowDispatcher()
    sender = ReplySender(dispatcher)  # type: ignore[arg-type]
    earlier = asyncio.create_task(sender.send([], [1]))
    await asyncio.sleep(0.01)
    # when another family's reply comes meanwhile
    started = asyncio.get_running_loop().time()
    later = asyncio.create_task(sender.send([], [2]))
    await asyncio.gather(earlier, later)
    # then its claim started at once, not after the earlier group's sends
    [later_at] = [at for ids, at in dispatcher.calls if ids == [2]]
    assert later_at - started < 0.1


async def test_while_every_group_is_busy_the_next_one_keeps_gathering() -> None:
    # given as many slow groups in flight as the sender runs at once
    dispatcher = SlowDispatcher()
    sender = ReplySender(dispatcher)  # type: ignore[arg-type]
    busy = []
    for n in range(GROUPS_IN_FLIGHT):
        busy.append(asyncio.create_task(sender.send([], [n + 1])))
        await asyncio.sleep(0.01)
    # when 10 more replies come one after another meanwhile
    more = []
    for n in range(10):
        more.append(asyncio.create_task(sender.send([], [100 + n])))
        await asyncio.sleep(0.005)
    await asyncio.gather(*busy, *more)
    # then they waited for a free slot and went in one claim, each once
    later = [sorted(ids) for ids, _ in dispatcher.calls if ids[0] >= 100]
    assert later == [list(range(100, 110))]


async def test_replies_sent_apart_from_their_requests_all_go_before_the_app_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given replies handed over apart from their requests (each request ended with its 200),
    # one of them failing on the way
    dispatcher = SlowDispatcher()
    sender = ReplySender(dispatcher)  # type: ignore[arg-type]

    async def broken() -> None:
        raise RuntimeError("the provider's client broke")

    for n in range(3):
        sender.apart(sender.send([], [n + 1]))
    sender.apart(broken())
    # when the web app shuts down
    await sender.drain()
    # then every reply was claimed and sent before it closed, and the failure was logged, not lost
    assert sorted(i for ids, _ in dispatcher.calls for i in ids) == [1, 2, 3]
    assert "the worker will send them" in caplog.text
