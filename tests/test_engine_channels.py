"""What the engine does with what only some channels send: YES after STOP, media, edits,
subjects."""

from __future__ import annotations

import pytest

from bot.engine import Message, Session, step
from bot.engine import events as ev
from bot.engine.step import MEDIA_ONLY
from tests.test_engine import ACTIVE, NOW, at_checkin, program, said

STOPPED = step(program(), ACTIVE, Message("STOP", channel="sms"), NOW)[0]


def say(session: Session, message: Message) -> tuple[Session, list[str]]:
    session, events = step(program(), session, message, NOW)
    return session, said(events)


@pytest.mark.parametrize("word", ["yes", "YES", "Yes!"])
def test_yes_after_stop_comes_back_on_sms_only(word: str) -> None:
    # given a family who texted STOP; CTIA and Twilio treat YES as an opt-in word on SMS
    assert STOPPED.status == "opted_out"

    # when a stray "yes" arrives on each channel
    sms, sms_said = say(STOPPED, Message(word, channel="sms"))
    telegram, telegram_said = say(STOPPED, Message(word, channel="telegram"))
    email, email_said = say(STOPPED, Message(word, channel="email"))

    # then SMS re-subscribes; Telegram and email stay out, and nothing is sent there
    assert (sms.status, sms_said) == ("active", ["keyword.started"])
    assert (telegram.status, telegram_said) == ("opted_out", [])
    assert (email.status, email_said) == ("opted_out", [])


@pytest.mark.parametrize("words", ["opt out", "Opt-out", "OPT OUT.", "stop all", "STOP ALL"])
@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_opt_out_as_two_words_stops_on_every_channel(channel: str, words: str) -> None:
    """OPTOUT worked and "opt out" did not (the check-in was asked again): the FCC's rule on
    revoking consent by text (2024) names "opt out" in two words, and STOP ALL is STOPALL."""
    session, said_back = say(at_checkin(), Message(words, channel=channel))
    assert (session.status, said_back) == ("opted_out", ["keyword.stopped"])


@pytest.mark.parametrize(
    "words",
    [
        "Stop texting me!",
        "please stop sending me messages",
        "Unsubscribe me please",
        "remove me from this list",
        "Don’t text me anymore.",
        "STOP please",
        "No más mensajes, por favor",
        "dejen de escribirme",
        "por favor, quítenme de la lista",
    ],
)
@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_plain_words_for_stop_opt_out_on_every_channel(channel: str, words: str) -> None:
    """People rarely text the bare keyword: "stop texting me" asked the check-in question again
    and the family kept getting messages (the FCC asks that any reasonable way of revoking
    consent be honoured)."""
    session, said_back = say(at_checkin(), Message(words, channel=channel))
    assert (session.status, said_back) == ("opted_out", ["keyword.stopped"])


@pytest.mark.parametrize(
    "words",
    [
        "please stop texting at work",
        "he won't stop drinking",
        "no more drinking today",
        "stop",  # the keyword itself, for contrast below
    ],
)
def test_a_sentence_that_mentions_stopping_is_not_an_opt_out(words: str) -> None:
    session, _ = say(at_checkin(), Message(words, channel="sms"))
    assert (session.status == "opted_out") == (words == "stop")


def test_politeness_around_pause_keeps_its_days() -> None:
    session, said_back = say(at_checkin(), Message("PAUSE 3 days please", channel="sms"))
    assert session.paused_until is not None and session.paused_until != "indefinite"


@pytest.mark.parametrize(
    ("channel", "word"), [("telegram", "/start"), ("sms", "START"), ("email", "Inicio")]
)
def test_start_from_a_family_already_with_us_says_so(channel: str, word: str) -> None:
    """Telegram shows its Start button again when a chat is cleared; /start from a family who
    never stopped got "I may not follow everything"."""
    # given the evening question, open
    asked = at_checkin()
    # when START comes
    after, words = say(asked, Message(word, channel=channel))
    # then the family hears they are signed up already, and the question still waits for them
    assert words == ["keyword.started_already"]
    assert (after.status, after.flow, after.waiting) == ("active", asked.flow, True)


def test_yes_from_a_family_with_us_is_never_taken_for_start() -> None:
    after, words = say(ACTIVE, Message("yes", channel="sms"))
    assert "keyword.started_already" not in words


@pytest.mark.parametrize(("channel", "word"), [("telegram", "/start"), ("email", "START")])
def test_start_comes_back_on_telegram_and_email(channel: str, word: str) -> None:
    session, words = say(STOPPED, Message(word, channel=channel))
    assert (session.status, words) == ("active", ["keyword.started"])


def test_media_without_words_gets_the_reads_text_reply_and_the_question_stays_open() -> None:
    # given the evening question, open
    asked = at_checkin()

    # when a photo comes without a caption
    after, words = say(asked, Message("", channel="telegram", media="photo"))

    # then the family hears that the bot reads text, and the question still waits for them
    assert words == [MEDIA_ONLY]
    assert (after.flow, after.step, after.waiting) == (asked.flow, asked.step, True)
    assert said(step(program(), after, Message("1", channel="telegram"), NOW)[1])[0].startswith(
        "reward."
    )


def test_a_caption_is_read_like_text_crisis_first() -> None:
    _, words = say(ACTIVE, Message("he is not breathing", channel="telegram", media="photo"))
    assert words[0] == "crisis.overdose.US"


def test_an_email_subject_the_family_wrote_is_checked_for_crisis() -> None:
    _, words = say(ACTIVE, Message("please answer", channel="email", subject="he is not breathing"))
    assert words[0] == "crisis.overdose.US"


def test_an_edit_is_read_for_crisis_words_only() -> None:
    asked = at_checkin()
    same, events = step(program(), asked, Message("2", channel="telegram", edited=True), NOW)
    assert same == asked and isinstance(events[0], ev.Ignored) and said(events) == []
    _, words = say(asked, Message("he took pills and won't wake up", edited=True))
    assert words[0].startswith("crisis.")
