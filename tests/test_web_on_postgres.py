"""The web app on PostgreSQL, as production runs it: webhooks that arrive together share the
writer's transactions, and each family still gets its own answer, once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storage import models as m
from tests.e2e import Providers, running_stack
from tests.workers.rig import migrate

CRISIS = "I took all his pills, I want to die"


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
