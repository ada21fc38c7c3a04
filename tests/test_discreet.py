"""Discreet mode (docs/privacy.md): what a lock screen shows gives nothing away. The content check
of every message's discreet line, and the words each kind of message starts with."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.catalog import discreet
from bot.catalog.render import Renderer
from bot.engine import events as ev
from bot.engine.session import Session
from bot.program_files import ProgramFiles, discreet_words, load_program
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.enqueue import Composer
from bot.settings import REPO_ROOT, Settings
from tests.program import shipped

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PROFILE = {"name": "Ana", "relationship": "parent", "loved_one": "Jake", "locale": "en"}


def test_every_message_of_every_locale_has_a_discreet_line_that_gives_nothing_away() -> None:
    catalogs = shipped().catalogs
    words, problems = discreet_words(REPO_ROOT / "messages")
    assert problems == [] and set(words) >= set(catalogs.complete_locales())
    assert discreet.check_discreet(catalogs, words) == []
    for locale in catalogs.complete_locales():
        for message_id in catalogs.ids(locale):
            line = discreet.lead_template(catalogs, message_id, locale)
            assert line and words[locale].find(line) is None, (locale, message_id)


def program_copy(tmp_path: Path) -> Path:
    root = tmp_path / "program"
    shutil.copytree(REPO_ROOT / "flows", root / "flows")
    shutil.copytree(REPO_ROOT / "messages", root / "messages")
    return root


def test_a_discreet_line_that_names_use_or_the_loved_one_is_refused_with_its_place(
    tmp_path: Path,
) -> None:
    # given an edit: a lesson with its own discreet line about drinking, the Spanish lead naming
    # the loved one
    root = program_copy(tmp_path)
    lessons = root / "messages" / "en" / "lessons.yaml"
    text = lessons.read_text(encoding="utf-8")
    lessons.write_text(
        text.replace(
            'lesson.honest_hope:\n  source: "§3, §11.1"\n',
            'lesson.honest_hope:\n  source: "§3, §11.1"\n  discreet: "About the drinking, '
            '{name}"\n',
        ),
        encoding="utf-8",
    )
    privacy = root / "messages" / "es" / "privacy.yaml"
    privacy.write_text(
        privacy.read_text(encoding="utf-8").replace(
            'discreet.lead: "Hola, {name}, una nota para ti."',
            'discreet.lead: "Hola, {name}, una nota sobre {loved_one}."',
        ),
        encoding="utf-8",
    )
    # when the program loads, then both are refused, each at its file and line
    loaded, problems = load_program(ProgramFiles.at(root))
    assert loaded is None
    found = [str(p) for p in problems]
    assert any(
        "lessons.yaml:" in p
        and "lesson.honest_hope" in p
        and "says 'drinking', which a lock screen must not show" in p
        for p in found
    ), found
    assert any(
        "es/privacy.yaml:" in p and "uses {loved_one}: a lock screen would show who or what" in p
        for p in found
    ), found


def test_a_locale_without_its_list_of_words_is_refused(tmp_path: Path) -> None:
    root = program_copy(tmp_path)
    (root / "messages" / "discreet_words.es.yaml").unlink()
    _, problems = load_program(ProgramFiles.at(root))
    assert any("there is no messages/discreet_words.es.yaml" in str(p) for p in problems)


def composed(profile: dict[str, str], say: ev.Say, channel: str = "email") -> dict[str, object]:
    settings = Settings()
    family = Family.from_row(
        (
            7,
            channel,
            "ana@example.org",
            "active",
            "en",
            "US",
            "Ana",
            "parent",
            "09:00",
            "19:00",
            "America/New_York",
            None,
            None,
            Session(status="active", profile=profile).to_json(),
        ),
        Clocks(settings),
    )
    composer = Composer(shipped(), settings, Renderer())
    return composer.row(family, family.session, say, NOW)


def test_in_discreet_mode_a_lesson_starts_plain_under_a_plain_subject_and_names_no_one() -> None:
    profile = {**PROFILE, "discreet": "yes", "cover_word": "Sam"}
    row = composed(profile, ev.Say("lesson.honest_hope"))
    text = str(row["text"])
    assert text.split("\n")[0] == "Hi Ana, a note for you." and text.split("\n")[1] == ""
    assert row["subject"] == "A note for you"
    assert "Jake" not in text
    plain = composed(PROFILE, ev.Say("lesson.what_is_craft"))
    assert str(plain["text"]).startswith("Welcome, Ana. CRAFT")  # not discreet: as written
    assert "Jake" in str(plain["text"])


def test_a_crisis_reply_keeps_its_emergency_first_line_in_discreet_mode() -> None:
    # safety outranks discretion (docs/crisis.md)
    profile = {**PROFILE, "discreet": "yes"}
    normal = composed(PROFILE, ev.Say("crisis.overdose.US", "crisis"))
    hidden = composed(profile, ev.Say("crisis.overdose.US", "crisis"))
    assert hidden["text"] == normal["text"]
    assert hidden["subject"] == normal["subject"] == "Urgent: help right now"
    assert "911" in str(hidden["text"]).split("\n")[0]
