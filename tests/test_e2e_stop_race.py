"""STOP racing another message, on uvicorn and the Twilio stand-in: nothing after the goodbye.

A family texts a check-in answer and, a moment later or at the same moment, STOP. The two
webhooks reach the web app together, on threads of their own, so each pair is handled in
whatever order the server gives them. Whichever wins, the family's phone shows the STOP
confirmation last: an answer to "1" may come before it, never after, and the family is opted out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import Family, Providers, Stack, running_stack

FAMILIES = 12
JOIN = ("hi", "yes", "Maria", "1", "no", "Jake", "eastern", "9am", "7pm")
GOODBYE = "keyword.stopped"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with Providers.running() as providers, running_stack(providers, tmp_path) as running:
        yield running


def together(*sends: threading.Thread) -> None:
    for send in sends:
        send.start()
    for send in sends:
        send.join(30)


def test_a_stop_racing_a_check_in_answer_is_the_last_thing_the_family_gets(stack: Stack) -> None:
    # given families who joined by SMS
    families = []
    for n in range(FAMILIES):
        phone = f"+1201555{100 + n:04d}"
        family = Family(stack, "sms", phone, lambda text, phone=phone: stack.sms(phone, text))
        for text in JOIN:
            family.say(text)
        families.append(family)
    # when each texts "1" (a good day) and STOP at the same moment
    answers: list[int] = []
    start = threading.Barrier(2)

    def send(phone: str, text: str) -> None:
        start.wait(10)
        answers.append(stack.sms(phone, text).status_code)

    for family in families:
        start.reset()
        together(
            threading.Thread(target=send, args=(family.address, "1")),
            threading.Thread(target=send, args=(family.address, "STOP")),
        )
    stack.settle()
    # then both webhooks were taken, and for every family the goodbye came last, once
    assert answers == [200] * 2 * FAMILIES
    by_provider_id = {r.provider_id: r.message_id for r in stack.outbox(channel="sms")}
    for family in families:
        arrived = [by_provider_id[r["id"]] for r in stack.received("sms", family.address)]
        after_join = arrived[arrived.index("onboarding.done") + 1 :]
        assert after_join.count(GOODBYE) == 1 and after_join[-1] == GOODBYE, after_join
        contact = stack.contact("sms", family.address)
        assert contact is not None and contact.status == "opted_out"
    # and each answer to "1" was either sent (before the goodbye, as above) or cancelled by the
    # STOP, and its record says which
    rewards = [r for r in stack.outbox(channel="sms") if r.message_id.startswith("reward.")]
    assert {(r.status, r.reason) for r in rewards} <= {("sent", None), ("cancelled", "opted_out")}
