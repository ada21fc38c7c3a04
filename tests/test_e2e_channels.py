"""A family's first days on each real channel: SMS via Twilio, Telegram, email via SendGrid.

The real web app runs under uvicorn on 127.0.0.1; the real SDKs send to local stand-ins of the
providers; every webhook is signed the way the provider signs it. Assertions are on what the
provider received and on what the database recorded.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from twilio.request_validator import HMAC_SHA256

from storage import models as m
from tests.e2e import ORG_POSTAL_ADDRESS, Family, Providers, Stack, running_stack

PHONE = "+15550123"
CHAT_ID = 5550123
EMAIL = "maria@example.org"
NON_USE_EMAIL = "ana@example.org"
EVENTS_EMAIL = "lee@example.org"
CALLBACK_PHONE = "+15550125"
ONBOARDING = [
    ("yes", ["onboarding.ask_name"]),
    ("I'm Maria", ["onboarding.ask_relationship"]),
    ("1", ["onboarding.ask_discreet"]),
    ("no", ["onboarding.ask_loved_one"]),
    ("Jake", ["onboarding.ask_timezone"]),
    ("eastern", ["onboarding.ask_lesson_time"]),
    ("9am", ["onboarding.ask_checkin_time"]),
    ("7pm", ["onboarding.done", "lesson.what_is_craft"]),
]


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


@pytest.fixture(scope="module")
def running(providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One app for the module (building it loads the whole program); each test has its own people.
    with running_stack(providers, tmp_path_factory.mktemp("e2e")) as stack:
        yield stack


@pytest.fixture
def stack(running: Stack) -> Stack:
    running.providers.reset()
    running.next_morning()
    return running


def like(ids: list[str], *patterns: str) -> bool:
    return len(ids) == len(patterns) and all(
        fnmatch.fnmatchcase(i, p) for i, p in zip(ids, patterns, strict=True)
    )


def join_and_onboard(family: Family, first: str) -> None:
    assert family.say(first) == ["onboarding.consent"]
    for answer, expected in ONBOARDING:
        assert family.say(answer) == expected, answer
    assert family.stack.contact(family.channel, family.address).status == "active"  # type: ignore[union-attr]


def three_evenings(family: Family, non_use: str, use: str, help_word: str, unsure: str) -> None:
    """Day 1 answered 'not using'; day 2 a lesson and the safety question, answered 'sometimes',
    then 'used' (the safety plan comes first); day 3 HELP mid-question then 'not sure'."""
    assert family.until("checkin")[-1] == "checkin.question"
    assert like(family.say(non_use), "reward.*")
    assert like(family.until("lesson"), "lesson.*", "safety.ask")
    assert family.say("sometimes") == ["safety.reply_sometimes"]
    assert family.until("checkin")[-1] == "checkin.question"
    assert like(family.say(use), "safety.plan_first", "step_back.*", "selfcare.*")
    assert like(family.until("lesson"), "lesson.*")
    assert family.until("checkin")[-1] == "checkin.question"
    assert family.say(help_word) == ["keyword.help.US"]
    assert like(family.say(unsure), "unsure.*")
    assert family.stack.checkins(family.channel, family.address) == ["non_use", "use", "unsure"]


def stop_then_start(family: Family, stop_word: str, start_word: str) -> None:
    assert family.say(stop_word) == ["keyword.stopped"]
    # Lessons and check-ins fall due twice over; none of it reaches the provider.
    assert family.wait(timedelta(days=2)) == []
    assert family.say("hello?") == []
    assert family.say(start_word) == ["keyword.started"]
    assert like(family.until("lesson")[:1], "lesson.*")


def test_sms_by_twilio_join_lessons_checkins_help_stop_start(stack: Stack) -> None:
    # given a parent texting our number, Twilio signing with the SHA-256 signature setting
    family = Family(stack, "sms", PHONE, lambda text: stack.sms(PHONE, text, algorithm=HMAC_SHA256))

    # when she joins with any first message and lives three evenings, HELP, STOP and START
    join_and_onboard(family, "hi")
    three_evenings(
        family,
        "1",
        "he was drunk again when he got home",
        "HELP",
        "not sure, he was out all evening",
    )
    stop_then_start(family, "STOP", "START")

    # then Twilio carried the compliance wording, and every consent change kept her words
    texts = family.texts()
    assert "Msg & data rates may apply" in texts[0] and "STOP" in texts[0]
    help_text = next(t for t in texts if "Contact:" in t)
    assert "STOP" in help_text and "Msg & data rates may apply" in help_text
    assert stack.consents("sms", PHONE) == [
        ("consent", "self", "yes"),
        ("opt_out", "self", "STOP"),
        ("opt_in", "self", "START"),
    ]
    assert all(r["from"] == "+15550100" for r in stack.received("sms", PHONE))
    assert family.slowest_s < 5, "Twilio gives a webhook 15 s; ours must answer well within"


def test_sms_advanced_opt_out_keyword_is_honoured(stack: Stack) -> None:
    # given a member who joined; Twilio Advanced Opt-Out knows a word our keyword list does not
    family = Family(stack, "sms", "+15550124", lambda text: stack.sms("+15550124", text))
    join_and_onboard(family, "hello")

    # when Twilio posts it with OptOutType=STOP
    answer = stack.sms("+15550124", "ARRET", opt_out_type="STOP")
    stack.settle()

    # then she is opted out with her words on record, and nothing more goes to her
    assert answer.status_code == 200
    assert family.news() == ["keyword.stopped"]
    assert stack.consents("sms", "+15550124")[-1] == ("opt_out", "self", "ARRET")
    assert family.wait(timedelta(days=2)) == []


def test_telegram_join_with_start_lessons_checkins_help_stop_start(stack: Stack) -> None:
    # given a parent writing to the bot; Telegram sends our secret header on every update
    family = Family(stack, "telegram", str(CHAT_ID), lambda text: stack.telegram(CHAT_ID, text))

    # when she presses Start, onboards, lives three evenings, and uses /help, /stop and /start
    join_and_onboard(family, "/start")
    three_evenings(family, "1", "2", "/help", "3")
    stop_then_start(family, "/stop", "/start")

    # then the bot's messages went to her chat and each consent change is on record
    assert stack.consents("telegram", str(CHAT_ID)) == [
        ("consent", "self", "yes"),
        ("opt_out", "self", "/stop"),
        ("opt_in", "self", "/start"),
    ]
    assert all(r["chat_id"] == str(CHAT_ID) for r in stack.providers.telegram.received)


def reply_above_quote(text: str, quoted: str) -> str:
    """An email reply as mail clients write it: the new words, a signature, the quoted thread."""
    quote = "\n".join(f"> {line}" for line in quoted.splitlines())
    return (
        f"{text}\n\nSent from my iPhone\n\nOn Mon, Mar 2, 2026 at 7:00 PM Family Support "
        f"<coach@example.org> wrote:\n{quote}\n"
    )


def test_email_by_sendgrid_join_checkins_one_click_unsubscribe_and_back(stack: Stack) -> None:
    # given a parent who writes to the inbound address and then replies above the quoted thread
    family = Family(
        stack,
        "email",
        EMAIL,
        lambda text: stack.email(
            f"Maria <{EMAIL}>", reply_above_quote(text, family.last_text()) if family.seen else text
        ),
    )

    # when she joins, onboards, and answers three evenings, each reply above a quoted thread
    join_and_onboard(family, "Hello, my son is using and a friend gave me this address.")
    three_evenings(family, "Not using today.", "He used again tonight.", "HELP", "I'm not sure")

    # then every email carried one-click unsubscribe headers and a footer with our postal address
    mails = stack.received("email", EMAIL)
    unsubscribe_url = mails[0]["headers"]["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{stack.url}/unsubscribe/")
    for mail in mails:
        assert mail["headers"]["List-Unsubscribe"] == f"<{unsubscribe_url}>"
        assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ORG_POSTAL_ADDRESS in mail["text"] and unsubscribe_url in mail["text"]
        assert mail["from"] == "coach@example.org"

    # when a link checker opens the link, nothing changes; the mail client's one-click POST opts her
    # out
    assert httpx.get(unsubscribe_url).status_code == 200
    assert stack.contact("email", EMAIL).status == "active"  # type: ignore[union-attr]
    answer = httpx.post(
        unsubscribe_url,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    # then she is opted out with the way she did it on record, and lessons falling due stay unsent
    assert answer.status_code == 200
    assert stack.contact("email", EMAIL).status == "opted_out"  # type: ignore[union-attr]
    assert stack.consents("email", EMAIL)[-1] == ("opt_out", "self", "one-click unsubscribe link")
    assert family.wait(timedelta(days=2)) == []
    assert (
        httpx.post(unsubscribe_url[:-4] + "0000").status_code == 404
    )  # someone else's link cannot be guessed

    # when she writes START, she is back
    assert family.say("START") == ["keyword.started"]
    assert like(family.until("lesson")[:1], "lesson.*")


def test_email_non_use_typed_above_a_quoted_thread_is_understood(stack: Stack) -> None:
    # given a member at her first evening check-in by email
    family = Family(
        stack,
        "email",
        NON_USE_EMAIL,
        lambda text: stack.email(
            NON_USE_EMAIL, reply_above_quote(text, family.last_text()) if family.seen else text
        ),
    )
    join_and_onboard(family, "hello")
    assert family.until("checkin")[-1] == "checkin.question"

    # when she types "non-use" above the quoted question, as the question words it
    family.say("non-use")

    # then a non-use day is recorded
    assert stack.checkins("email", NON_USE_EMAIL) == ["non_use"]


def test_sendgrid_events_move_an_email_forward_once(stack: Stack) -> None:
    # given an email the bot sent
    family = Family(stack, "email", EVENTS_EMAIL, lambda text: stack.email(EVENTS_EMAIL, text))
    assert family.say("hello") == ["onboarding.consent"]
    row = stack.outbox(channel="email", address=EVENTS_EMAIL)[0]
    event = {
        "email": EVENTS_EMAIL,
        "event": "delivered",
        "sg_event_id": "ev-delivered-1",
        "sg_message_id": f"{row.provider_id}.filter0001",
        "outbox_id": str(row.id),
        "timestamp": 1772463600,
    }

    # when SendGrid reports it delivered, twice (it retries a post it thinks failed)
    first, again = stack.sendgrid_events([event]), stack.sendgrid_events([event])

    # then the status moved to delivered and the second report was recognised as a repeat
    assert (first.status_code, again.status_code) == (200, 200)
    assert stack.outbox(id=row.id)[0].status == "delivered"
    assert stack.count(m.ProviderEvent, m.ProviderEvent.provider == "sendgrid") == 1


def test_twilio_status_callbacks_only_move_forward_and_are_deduped(stack: Stack) -> None:
    # given Twilio reports each message delivered, and then a late "sent" that arrives out of order
    stack.providers.twilio.callback_statuses = ("delivered", "sent")
    family = Family(stack, "sms", CALLBACK_PHONE, lambda text: stack.sms(CALLBACK_PHONE, text))

    # when a member texts and gets the consent question
    assert family.say("hi") == ["onboarding.consent"]
    row = stack.outbox(channel="sms", address=CALLBACK_PHONE)[0]
    wait_for(lambda: stack.providers.twilio.count("callbacks") == 2)

    # then the row says delivered, not sent, and a repeated callback changes nothing
    assert stack.outbox(id=row.id)[0].status == "delivered"
    assert stack.twilio_status(str(row.provider_id), "delivered", CALLBACK_PHONE).status_code == 204
    # (sid, delivered) and (sid, sent) were recorded once each: the repeat added none
    assert stack.count(m.ProviderEvent, m.ProviderEvent.key.startswith(str(row.provider_id))) == 2
    assert (
        stack.twilio_status(str(row.provider_id), "undelivered", CALLBACK_PHONE).status_code == 204
    )
    assert (stack.outbox(id=row.id)[0].status, stack.outbox(id=row.id)[0].reason) == (
        "failed",
        "undelivered",
    )


def test_a_text_twilio_took_but_whose_answer_we_lost_is_not_sent_again(stack: Stack) -> None:
    """Twilio accepted a message but its answer never reached us (a timeout): the row was
    queued again, and its retry sent the family the same text twice, although Twilio's status
    callback (which names our row) had said it was delivered before the retry was due."""
    phone = "+15550126"
    family = Family(stack, "sms", phone, lambda text: stack.sms(phone, text))
    assert family.say("hi") == ["onboarding.consent"]
    row = stack.outbox(channel="sms", address=phone)[0]
    [first] = [g for g in stack.received("sms", phone) if g["id"] == row.provider_id]

    # given the send's answer was lost: the row is queued again for a retry in a minute
    with stack.app.ctx.db.begin() as db:
        db.execute(
            update(m.OutboundMessage)
            .where(m.OutboundMessage.id == row.id)
            .values(
                status="queued",
                provider_id=None,
                sent_at=None,
                last_error="retry: timed out",
                not_before=stack.clock.now + timedelta(minutes=1),
            )
        )

    # when Twilio's callback says it was delivered, and the retry's minute passes
    answer = stack.twilio_status(
        str(row.provider_id), "delivered", phone, url=first["status_callback"]
    )
    stack.advance(timedelta(minutes=2))

    # then the family got the text once, and the row says delivered
    assert answer.status_code == 204
    assert [g["text"] for g in stack.received("sms", phone)].count(first["text"]) == 1
    [again] = stack.outbox(id=row.id)
    assert (again.status, again.provider_id) == ("delivered", row.provider_id)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
