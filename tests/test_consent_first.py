"""Consent first (issue 14): before a person has agreed, only the consent exchange, HELP, STOP, a
language, crisis handling, and their own data (MYDATA, DELETE) answer. Every keyword of the
shipped program, in every word, is tried by a stranger and by someone being asked to join."""

from __future__ import annotations

import pytest
import yaml

from bot.engine import Message, Session, step
from bot.engine import events as ev
from bot.flows.model import Keyword
from bot.settings import REPO_ROOT
from tests.program import shipped
from tests.test_engine import NOW, program, said

# What a person may do before saying YES: leave, get help, pick a language, see or erase what
# we keep of them. The decision, written down: a new keyword answers before consent only when
# it is added here too.
BEFORE_CONSENT = {"stop", "help", "language", "languages", "mydata", "delete"}
# What opens the way in for someone who stopped (START); for a stranger it is only a way to join.
JOINS = {"start"}
JOIN_FLOWS = {"onboarding"}


def keywords() -> tuple[Keyword, ...]:
    return shipped().program.flows.routing.keywords


def words_of(names: set[str] | None = None, exclude: set[str] = frozenset()) -> list[str]:
    """Every word of these keywords (all of them when None), as a person would type it."""
    out = []
    for k in keywords():
        if (names is None or k.name in names) and k.name not in exclude:
            out += [w.upper() for words in k.by_language.values() for w in words]
    return out


def being_asked() -> Session:
    """Someone who wrote "hi" and was asked to join, and has not answered."""
    session, events = step(program(), Session(), Message("hi"), NOW)
    assert said(events) == ["onboarding.consent"] and session.waiting
    return session


def test_only_the_listed_keywords_answer_before_consent() -> None:
    assert {k.name for k in keywords() if k.before_consent} == BEFORE_CONSENT


NOT_BEFORE = words_of(exclude=BEFORE_CONSENT | JOINS)


@pytest.mark.parametrize("word", NOT_BEFORE)
def test_a_strangers_keyword_only_starts_joining(word: str) -> None:
    # when someone who never agreed writes a keyword (LESSON, RESUME, REWARDS, ASK, DISCREET...)
    session, events = step(program(), Session(), Message(word), NOW)
    # then they are asked to join (in their language, or asked which first), and nothing else
    assert session.flow in JOIN_FLOWS and session.status == "onboarding", (word, said(events))
    assert all(m.startswith(("onboarding.", "language.")) for m in said(events)), said(events)
    assert not any(isinstance(e, ev.ConsentChanged) for e in events)
    profile = [e.field for e in events if isinstance(e, ev.SetProfile)]
    assert set(profile) <= {"locale"}, profile


@pytest.mark.parametrize("word", NOT_BEFORE)
def test_a_keyword_while_being_asked_gets_the_consent_question_again(word: str) -> None:
    session, events = step(program(), being_asked(), Message(word), NOW)
    assert session.flow in JOIN_FLOWS and session.waiting and not session.consented
    assert said(events) and all(m.startswith("onboarding.consent") for m in said(events)), (
        word,
        said(events),
    )


def test_help_and_stop_answer_while_being_asked() -> None:
    session, events = step(program(), being_asked(), Message("HELP"), NOW)
    assert [m.split(".")[:2] for m in said(events)] == [["keyword", "help"]]
    assert session.waiting  # the question stays open
    session, events = step(program(), being_asked(), Message("STOP"), NOW)
    assert session.status == "opted_out" and not session.waiting


def test_a_stranger_may_ask_what_is_kept_and_the_question_stays_open() -> None:
    session, events = step(program(), being_asked(), Message("MYDATA"), NOW)
    assert not any(m.startswith("onboarding.") for m in said(events)), said(events)
    assert any(isinstance(e, ev.DataRequested) for e in events)
    assert session.flow in JOIN_FLOWS and session.waiting  # still being asked to join


def test_a_stranger_may_erase_what_is_kept_once_confirmed() -> None:
    session, events = step(program(), being_asked(), Message("DELETE"), NOW)
    assert said(events) == ["privacy.delete_confirm"] and session.flow == "delete"
    # and YES then answers the erase question, not the consent question
    session, events = step(program(), session, Message("yes"), NOW)
    assert not session.consented
    assert not any(isinstance(e, ev.ConsentChanged) and e.given for e in events)
    assert any(isinstance(e, ev.ErasureRequested) for e in events), events


@pytest.mark.parametrize("locale", ["en", "es"])
def test_what_a_stranger_is_told_fits_every_channel(locale: str) -> None:
    # given the replies someone gets before joining, on SMS, Telegram or email alike
    texts = yaml.safe_load((REPO_ROOT / "messages" / locale / "onboarding.yaml").read_text("utf-8"))
    before = {
        k: v for k, v in texts.items() if k.startswith(("yes_no.reflect.", "onboarding.consent"))
    }
    assert before
    # then none speaks of a phone number ("Someone may have shared this number", said by email)
    for key, text in before.items():
        assert not any(w in str(text).lower() for w in ("number", "número", "numero")), key
