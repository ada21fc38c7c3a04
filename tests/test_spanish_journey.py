"""Spanish-speaking families end to end, through the real app on a virtual clock.

The proof that a family reading Spanish never meets English: every text a Spanish family receives,
from the first "hola" to PARAR, must be one that a message of messages/es/ produces (its words,
with only the placeholders filled in; on SMS, maybe without its accents). Nothing guesses at
English: a text that no Spanish message can produce fails, and the test names it.
"""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.catalog.catalog import Catalogs
from bot.channels.telegram import parse_update
from bot.cli.main import main
from bot.program_files import Loaded
from bot.runtime.admin import WELCOME, Enrollment, enroll
from bot.settings import Settings
from bot.simulation import Harness, Sent
from bot.transcript import _run_step  # one step of a transcript, with its checks
from bot.yaml_source import read_yaml
from storage import models as m
from storage.db import make_engine
from tests.program import shipped

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"
WEEKS = {
    "sms": TRANSCRIPTS / "spanish_week_sms.yaml",
    "telegram": TRANSCRIPTS / "spanish_week_telegram.yaml",
    "email": TRANSCRIPTS / "spanish_week_email.yaml",
}
SWITCH = TRANSCRIPTS / "family_switches_language.yaml"
# Said in both languages on purpose, when the language is not known yet or the family asked how
# to switch: a family that wrote "hola" must never get them.
BILINGUAL = {"onboarding.ask_language", "language.choose"}
# A contact that is words in no language (unset, ORG_CONTACT would be the organisation's name).
CONTACT = "555-0100"
UCS2_ONLY = re.compile("[áíóúÁÍÓÚ]")


class Origins:
    """Every text one locale's messages can produce, as patterns: a placeholder matches any words,
    and each form also matches itself with the locale's SMS letters left out."""

    def __init__(self, catalogs: Catalogs, locale: str, leave_out: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        rule = catalogs.rules[locale]
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for entry in catalogs.locales[locale].values():
            if entry.id in leave_out:
                continue
            for forms in entry.variants().values():
                for text in forms.all_forms().values():
                    plain = "".join(rule.sms_plain.get(ch, ch) for ch in text)
                    for form in dict.fromkeys((text, plain)):
                        self.patterns.append((entry.id, _pattern(form)))

    def of(self, text: str) -> str | None:
        """The id of a message that produces `text`, or None: then no message of it does."""
        return next((i for i, p in self.patterns if p.fullmatch(text)), None)

    def summary(self, text: str) -> bool:
        """Is `text` a weekly summary made only of this locale's summary.* sentences (and the
        SMS calendar's rows of signs)? bot/runtime/summaries.py puts them together."""
        rest = re.sub(r"(\n[+x?.]{1,7})+$", "", text)
        pieces = [p for i, p in self.patterns if i.startswith("summary.")]
        while rest:
            for piece in pieces:
                found = piece.match(rest)
                if found and found.end() and rest[found.end() : found.end() + 1] in ("", " ", "\n"):
                    rest = rest[found.end() :].lstrip(" \n")
                    break
            else:
                return False
        return True


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(".+?")
    return re.compile("".join(parts), re.DOTALL)


def replay(path: Path, settings: Settings, **override: str) -> tuple[list[Sent], Harness]:
    """Every message one transcript's family receives (each step's checks hold, as in simulate)."""
    data, problems = read_yaml(path)
    assert problems == []
    zone = ZoneInfo(str(data["timezone"]))
    start = datetime.fromisoformat(str(data["start"])).replace(tzinfo=zone)
    harness = Harness(
        settings.model_copy(update={"default_timezone": zone.key}),
        start,
        override.get("channel", str(data["channel"])),  # type: ignore[arg-type]
        override.get("address", str(data["address"])),
    )
    sent: list[Sent] = []
    for raw in data["steps"]:
        sent += _run_step(harness, raw, zone)
    return sent, harness


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return shipped()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/t.db", org_contact=CONTACT)


def strangers(sent: list[Sent], origins: Origins) -> list[tuple[str, str]]:
    return [
        (s.message_id, s.text)
        for s in sent
        if origins.of(s.text) is None
        and not (s.message_id.startswith("summary.") and origins.summary(s.text))
    ]


# --- a week in Spanish, from "hola" to PARAR ---------------------------------------------------
@pytest.mark.parametrize("channel", sorted(WEEKS))
def test_a_spanish_family_never_reads_a_word_of_english(
    channel: str, settings: Settings, loaded: Loaded
) -> None:
    # given a mother who writes "hola" and lives a week of the program (WEEKS[channel])
    sent, harness = replay(WEEKS[channel], settings)
    with harness.app.ctx.db() as db:
        subjects = db.scalars(
            select(m.OutboundMessage.subject).where(m.OutboundMessage.address == harness.address)
        ).all()
    harness.close()
    # then she got the whole week: lessons, every kind of evening reply, a nudge, the crisis reply
    ids = [s.message_id for s in sent]
    for pool in ("lesson.", "reward.", "step_back.", "unsure.", "window.", "selfcare.", "crisis."):
        assert any(i.startswith(pool) for i in ids), pool
    assert "keyword.paused" in ids and "keyword.stopped" in ids
    # and every text she got is one that a Spanish message produces, none of them bilingual
    spanish = Origins(loaded.catalogs, "es", leave_out=BILINGUAL)
    assert strangers(sent, spanish) == []
    # and by email, every subject line too
    if channel == "email":
        assert len(subjects) == len(sent)
        assert [s for s in subjects if s is None or spanish.of(s) is None] == []
        assert "Urgente: ayuda ahora mismo" in subjects
    # which a check that knew only English would catch: these texts are no English message's
    english = Origins(loaded.catalogs, "en")
    assert all(english.of(s.text) is None for s in sent if len(s.text) > 40)


def test_on_sms_the_accents_go_only_where_they_cost_a_segment(settings: Settings) -> None:
    sms, harness = replay(WEEKS["sms"], settings)
    harness.close()
    url = settings.database_url.replace("t.db", "telegram.db")
    telegram, harness = replay(WEEKS["telegram"], settings.model_copy(update={"database_url": url}))
    harness.close()
    # no SMS longer than one UCS-2 segment carries á, í, ó or ú: each would have cost a segment
    assert [s.text for s in sms if len(s.text) > 70 and UCS2_ONLY.search(s.text)] == []
    # while ñ, ¿ and é stay, and Telegram keeps every accent
    assert any("ñ" in s.text for s in sms) and any("¿" in s.text for s in sms)
    assert sum(bool(UCS2_ONLY.search(s.text)) for s in telegram) > len(telegram) // 2


def test_a_family_that_switches_language_mid_week_reads_each_language_whole(
    settings: Settings, loaded: Loaded
) -> None:
    # given a father who joined in English and writes ESPAÑOL at the evening question on day 3,
    # then ENGLISH again on day 6 (family_switches_language.yaml)
    sent, harness = replay(SWITCH, settings)
    harness.close()
    english, spanish = Origins(loaded.catalogs, "en"), Origins(loaded.catalogs, "es")
    to_spanish = next(i for i, s in enumerate(sent) if s.message_id == "language.changed")
    to_english = next(
        i for i, s in enumerate(sent) if s.message_id == "language.changed" and i > to_spanish
    )
    # then before the switch every text is English, from it on Spanish, and back again
    assert strangers(sent[:to_spanish], english) == []
    assert strangers(sent[to_spanish:to_english], spanish) == []
    assert strangers(sent[to_english:], english) == []
    # and the question that was open when he switched was asked again, in Spanish
    assert sent[to_spanish + 1].message_id == "checkin.question"
    assert spanish.of(sent[to_spanish + 1].text) == "checkin.question"


# --- how a family gets Spanish -------------------------------------------------------------------
def newcomer(settings: Settings, channel: str = "sms", address: str = "+15550150") -> Harness:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    return Harness(
        settings.model_copy(update={"default_timezone": "America/New_York"}),
        start,
        channel,
        address,
    )  # type: ignore[arg-type]


def said(sent: list[Sent]) -> list[str]:
    return [s.message_id for s in sent]


@pytest.mark.parametrize("first", ["hola", "Información", "buenas", "Hola, quiero información"])
def test_a_first_message_in_spanish_starts_joining_in_spanish(
    first: str, settings: Settings, loaded: Loaded
) -> None:
    harness = newcomer(settings)
    try:
        reply = harness.say(first)
        assert said(reply) == ["onboarding.consent"]
        assert Origins(loaded.catalogs, "es").of(reply[0].text) == "onboarding.consent"
        assert harness.session().profile["locale"] == "es"
        assert harness.contact().locale == "es"  # type: ignore[union-attr]
    finally:
        harness.close()


def test_a_first_message_that_tells_no_language_is_asked_in_both_and_espanol_answers(
    settings: Settings,
) -> None:
    harness = newcomer(settings)
    try:
        # a name says nothing about the language: the question comes in both languages
        question = harness.say("Rosa")
        assert said(question) == ["onboarding.ask_language"]
        assert "ESPAÑOL" in question[0].text and "ENGLISH" in question[0].text
        # ESPAÑOL answers it: confirmed in Spanish, and joining goes on in Spanish
        answer = harness.say("Español")
        assert said(answer) == ["language.changed", "onboarding.consent"]
        assert answer[0].text.startswith("Listo")
        assert "SÍ para empezar" in answer[1].text or "SI para empezar" in answer[1].text
        # and an answer in words counts too, without a second confirmation
        # (a harness of its own, with its own database: each numbers its messages from 1)
        url = settings.database_url.replace("t.db", "other.db")
        other = newcomer(settings.model_copy(update={"database_url": url}), address="+15550151")
        assert said(other.say("ok")) == ["onboarding.ask_language"]
        assert said(other.say("en español por favor")) == ["onboarding.consent"]
        assert other.session().profile["locale"] == "es"
        other.close()
    finally:
        harness.close()


def test_a_crisis_in_spanish_as_the_very_first_message_is_answered_in_spanish(
    settings: Settings, loaded: Loaded
) -> None:
    harness = newcomer(settings)
    try:
        reply = harness.say("mi hijo no respira")
        assert said(reply)[0] == "crisis.overdose.US"
        assert Origins(loaded.catalogs, "es").of(reply[0].text) == "crisis.overdose.US"
    finally:
        harness.close()


@pytest.mark.parametrize(
    ("word", "reply"),
    [("AYUDA", "keyword.help.US"), ("ayuda", "keyword.help.US"), ("PARAR", "keyword.stopped")],
)
def test_a_spanish_keyword_from_a_stranger_is_answered_in_spanish(
    word: str, reply: str, settings: Settings, loaded: Loaded
) -> None:
    harness = newcomer(settings)
    try:
        sent = harness.say(word)
        assert said(sent) == [reply]
        assert Origins(loaded.catalogs, "es").of(sent[0].text) == reply
    finally:
        harness.close()


def telegram_update(text: str, language: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": 5550160, "is_bot": False, "first_name": "Rosa"}
    if language:
        user["language_code"] = language
    return {
        "update_id": 9001,
        "message": {
            "message_id": 1,
            "date": 1772463600,
            "chat": {"id": 5550160, "type": "private"},
            "from": user,
            "text": text,
        },
    }


@pytest.mark.parametrize(
    ("language", "first_reply"),
    [("es-MX", "consent"), ("en", "consent"), (None, "ask_language")],
)
def test_on_telegram_the_app_language_answers_for_a_start_that_says_nothing(
    language: str | None, first_reply: str, settings: Settings, loaded: Loaded
) -> None:
    # given Telegram's /start, from an app set to Spanish, to English, or with no language
    message = parse_update(telegram_update("/start", language))
    assert message is not None and message.language_hint == language
    harness = newcomer(settings, "telegram", "5550160")
    try:
        harness.app.runtime.handle_inbound(message, harness.now)
        with harness.app.ctx.db() as db:
            sent = db.execute(
                select(m.OutboundMessage.message_id, m.OutboundMessage.text)
                .where(m.OutboundMessage.address == "5550160")
                .order_by(m.OutboundMessage.id)
            ).all()
        # then the app's language answers where /start says nothing; without one, both are asked
        assert [row.message_id for row in sent] == [f"onboarding.{first_reply}"]
        if language:
            expected = "es" if language.startswith("es") else "en"
            assert harness.session().profile["locale"] == expected
            assert Origins(loaded.catalogs, expected).of(sent[0].text) == "onboarding.consent"
        else:
            assert "locale" not in harness.session().profile
    finally:
        harness.close()


def test_enrolled_in_spanish_the_first_lesson_comes_in_spanish(
    settings: Settings, loaded: Loaded
) -> None:
    harness = newcomer(settings, address="+12025550170")
    try:
        # given three coaches' ways of writing Spanish: es, ES, es-MX
        for i, locale in enumerate(("es", "ES", "es-MX")):
            request = Enrollment("sms", f"+1202555017{i}", "Rosa", "hermana", "Luis", locale=locale)
            enroll(harness.app.ctx, request)
        got = harness.until("lesson")
        # the welcome queued at enrolment first, then the first lesson, both in Spanish
        assert said(got) == [WELCOME, loaded.program.flows.order.lessons[0]]
        spanish = Origins(loaded.catalogs, "es")
        assert [spanish.of(s.text) for s in got] == said(got)
        assert "Luis" in got[1].text  # "hermana" was read by the Spanish words: a sibling
        with harness.app.ctx.db() as db:
            rows = db.execute(select(m.Contact.locale, m.Contact.relationship)).all()
        assert [tuple(r) for r in rows] == [("es", "sibling")] * 3
    finally:
        harness.close()


def test_the_origins_check_catches_english_and_filled_in_words_alike(loaded: Loaded) -> None:
    spanish = Origins(loaded.catalogs, "es")
    # a Spanish message with its placeholders filled in, with or without its accents, is found
    text = (
        "Perdón, no te entendí. Responde 1 si Luis no consumió hoy, 2 si consumió, 3 si no lo "
        "sabes. Si alguien está en peligro, llama al 112."
    )
    assert spanish.of(text) == "checkin.reask.ES"
    plain = text.replace("ó", "o").replace("í", "i").replace("á", "a")
    assert spanish.of(plain) == "checkin.reask.ES"
    # while an English sentence, or Spanish that no message says, is not
    assert spanish.of("Sorry, I didn't catch that. Reply 1 if Luis was not using today.") is None
    assert spanish.of("Perdón, no te entendí. Responde lo que quieras.") is None


def test_import_takes_a_locale_for_rows_that_leave_it_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a CSV where one row says its language and the others leave it to the command
    csv = tmp_path / "familias.csv"
    csv.write_text(
        "channel,address,name,relationship,locale\n"
        "sms,+1 202 555 0180,Rosa,madre,\n"
        "email,ana@example.org,Ana,hermana,\n"
        "sms,+1 202 555 0181,Sam,parent,en\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    # when a coach imports it with --locale es
    assert main(["import", str(csv), "--locale", "es"]) == 0
    assert "imported 3 row(s); 0 row(s) had problems" in capsys.readouterr().out
    # then the rows without a language are Spanish (their Spanish words understood), the other not
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(m.Contact.name, m.Contact.locale, m.Contact.relationship).order_by(
                    m.Contact.name
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("Ana", "es", "sibling"),
        ("Rosa", "es", "parent"),
        ("Sam", "en", "parent"),
    ]


def test_enroll_takes_a_locale_and_the_spanish_words_of_the_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'enroll.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    # when a coach enrolls a mother in Spanish from the command line
    args = ["enroll", "--channel", "sms", "--address", "+1 202 555 0182", "--name", "Rosa"]
    assert main([*args, "--relationship", "madre", "--locale", "es-MX"]) == 0
    assert "enrolled" in capsys.readouterr().out
    # then she is a Spanish-speaking parent, and an unknown language is refused
    assert (
        main(["enroll", "--channel", "sms", "--address", "+1 202 555 0183", "--locale", "xx"]) == 2
    )
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(select(m.Contact.locale, m.Contact.relationship)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("es", "parent")]


def test_espanol_at_any_question_switches_and_asks_it_again_in_spanish(
    settings: Settings, loaded: Loaded
) -> None:
    # given a newcomer who wrote "hi" and is being asked for consent in English
    harness = newcomer(settings)
    try:
        assert said(harness.say("hi")) == ["onboarding.consent"]
        # when they write ESPAÑOL
        reply = harness.say("ESPAÑOL")
        # then the switch is confirmed in Spanish and the consent question comes again, in Spanish
        assert said(reply) == ["language.changed", "onboarding.consent"]
        spanish = Origins(loaded.catalogs, "es", leave_out=BILINGUAL)
        assert [spanish.of(s.text) for s in reply] == said(reply)
        # and joining goes on in Spanish, where it was
        assert said(harness.say("sí")) == ["onboarding.ask_name"]
        # IDIOMA or LANGUAGE says how to switch, in both languages, and leaves the question open
        for word in ("IDIOMA", "language"):
            assert said(harness.say(word)) == ["language.choose"]
        assert said(harness.say("Rosa")) == ["onboarding.ask_relationship"]
    finally:
        harness.close()
