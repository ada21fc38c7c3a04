"""The web app on PostgreSQL, as production runs it: webhooks that arrive together share the
writer's transactions, and each family still gets its own answer, once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build
from bot.channels.base import InboundMessage
from bot.runtime.inbound import Inbound
from bot.settings import Settings
from storage import models as m
from tests.e2e import Providers, running_stack
from tests.workers.rig import migrate

CRISIS = "I took all his pills, I want to die"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_families_writing_at_the_same_moment_each_get_their_answer_once(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    migrate(fresh_pg_url)  # the Procfile's release step
    numbers = [f"+155501{n:02d}" for n in range(24)]
    with (
        Providers.running() as providers,
        running_stack(providers, tmp_path, database_url=fresh_pg_url) as stack,
    ):
        # given 24 families writing for the first time at the same moment, each message
        # delivered twice by the provider (a retry), and one of them in crisis
        posts = [(n, "hi", f"SM-pg-{n}") for n in numbers[1:]] + [(numbers[0], CRISIS, "SM-pg-c")]
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda p: stack.sms(p[0], p[1], sid=p[2]), posts * 2))
        stack.settle()
        # then every post was acknowledged; each message was taken in once, from its own family
        assert [a.status_code for a in answers] == [200] * len(answers)
        assert stack.count(m.InboundMessage) == len(numbers)
        assert stack.count(m.Contact) == len(numbers)
        # and each family got its own answer, once: the crisis reply for the one in crisis
        for number in numbers[1:]:
            assert [r.message_id for r in stack.outbox(address=number)] == ["onboarding.consent"]
            assert len(stack.received("sms", number)) == 1
        crisis = [r for r in stack.outbox(address=numbers[0]) if r.kind == "crisis"]
        assert crisis and all(r.status == "sent" for r in crisis)
        assert stack.count(m.Alert) == 1


def test_two_web_processes_taking_the_same_families_in_opposite_orders_never_deadlock(
    fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(fresh_pg_url)
    # given two web processes' writers on one database, and families on SMS and on Telegram
    apps = [
        build(Settings(database_url=fresh_pg_url), channels={}, clock=lambda: NOW) for _ in range(2)
    ]
    families = [("sms", f"+155501{n:02d}") for n in range(10)]
    families += [("telegram", str(5550100 + n)) for n in range(10)]
    apps[0].runtime.handle_inbound_many(
        [InboundMessage(c, a, "hi", f"hi-{a}") for c, a in families]
    )
    # (a group whose transaction fails, as a deadlock's does, is done again message by message)
    alone: list[InboundMessage] = []
    handle = Inbound.handle

    def handled_alone(self: Inbound, msg: InboundMessage, now: datetime | None = None) -> object:
        alone.append(msg)
        return handle(self, msg, now)

    monkeypatch.setattr(Inbound, "handle", handled_alone)
    outcomes: list[object] = []

    def answer(i: int) -> None:
        order = families if i == 0 else families[::-1]
        for r in range(40):
            msgs = [InboundMessage(c, a, "yes", f"{i}-{r}-{a}") for c, a in order]
            outcomes.extend(apps[i].runtime.handle_inbound_many(msgs))

    try:
        # when both take a message from every family, 40 times, in opposite orders at once
        threads = [threading.Thread(target=answer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for app in apps:
            app.engine.dispose()
    # then every message was taken in, and no group's transaction had to be redone
    assert len(outcomes) == 2 * 40 * len(families)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert alone == []
