"""Every family reads words written for them: relationship variants and shared-home defaults."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.catalog.audiences import (
    coverage,
    load_shared_home_phrases,
    misplaced_context_placeholders,
    shared_home_defaults,
)
from bot.catalog.catalog import load_catalogs
from bot.catalog.render import Audience, render
from bot.catalog.segments import count_segments
from bot.cli.main import main
from bot.settings import REPO_ROOT
from tests.program import shipped

RELATIONSHIPS = ("parent", "partner", "sibling", "child", "friend")
ORG = {"org": "Family Recovery Center", "org_contact": "help@recovery-center.example.org"}
# Messages whose words assumed a parent or a shared home before issue 16. Each now has a neutral
# default (read by "other") and its own words for every other relationship.
WRITTEN_PER_RELATIONSHIP = (
    "lesson.safety_plan",
    "lesson.be_specific",
    "lesson.step_back_during_use",
    "lesson.stop_rescuing",
    "reward.tonight_meal",
    "reward.kind_word",
    "reward.walk",
    "reward.film",
    "reward.thank_you",
    "reward.help_chore",
    "reward.game",
    "reward.treat",
    "reward.presence",
    "reward.music",
    "reward.their_pick",
    "step_back.feel_unsafe",
    "step_back.skip_shared",
    "step_back.rest_for_you",
)


def said(message_id: str, relationship: str, channel: str = "sms", **profile: str) -> str:
    audience = Audience(channel, profile={"relationship": relationship, "country": "US", **profile})
    return render(shipped().catalogs, message_id, audience, ORG)


@pytest.mark.parametrize("message_id", WRITTEN_PER_RELATIONSHIP)
def test_each_relationship_reads_its_own_words_where_the_old_text_assumed_a_home(
    message_id: str,
) -> None:
    # given a message that used to assume a parent or a shared home
    texts = {rel: said(message_id, rel) for rel in (*RELATIONSHIPS, "other")}
    # then each relationship reads a text of its own, and none reads another's
    assert len(set(texts.values())) == len(texts), texts


def test_no_default_text_assumes_a_shared_home() -> None:
    phrases, problems = load_shared_home_phrases(
        REPO_ROOT / "messages" / "shared_home_phrases.yaml"
    )
    assert problems == [] and len(phrases["en"]) >= 15
    assert [str(p) for p in shared_home_defaults(shipped().catalogs, phrases)] == []


def test_an_adult_child_is_not_given_a_parents_request() -> None:
    parent = said("lesson.be_specific", "parent")
    child = said("lesson.be_specific", "child")
    assert "late tonight" in parent
    assert "late tonight" not in child and child != parent
    # and with no name given, an adult child's loved one is "your parent", never "your child"
    lesson = said("lesson.what_is_craft", "child", name="Ana")
    assert "your parent" in lesson and "your child" not in lesson


def test_partners_are_told_they_need_reasons_of_their_own() -> None:
    for channel in ("sms", "email"):
        partner = said("lesson.honest_hope", "partner", channel=channel).lower()
        parent = said("lesson.honest_hope", "parent", channel=channel).lower()
        assert "partners" in partner and re.search(r"own reasons|reasons of their own", partner)
        assert "partners" not in parent
    assert "reasons of their own" in said("review.your_reasons", "partner")


@pytest.mark.parametrize("relationship", RELATIONSHIPS)
def test_the_preview_shows_each_relationship_its_own_lessons(
    relationship: str, tmp_path: Path
) -> None:
    out = tmp_path / f"{relationship}.md"
    assert main(["content", "preview", "--relationship", relationship, "--out", str(out)]) == 0
    text = out.read_text()
    own = [
        e
        for e in shipped().catalogs.locales["en"].values()
        if e.id.startswith("lesson.") and relationship in e.by_relationship
    ]
    assert len(own) >= 3
    for entry in own:
        # every lesson with words for this relationship shows those words in its preview
        assert said(entry.id, relationship, name="Sam") in text, entry.id
    assert "{" not in text and "your your" not in text.lower()


def test_content_check_reports_variants_per_relationship(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["content", "check", "--path", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    counts = {
        m["rel"]: int(m["own"])
        for m in re.finditer(r"^  (?P<rel>\w+)[^\d]*?(?P<own>\d+) in their own words", out, re.M)
    }
    assert set(counts) == {*RELATIONSHIPS, "other"}
    assert all(counts[rel] >= len(WRITTEN_PER_RELATIONSHIP) for rel in RELATIONSHIPS), counts
    assert "shared home: no default assumes one" in out


def copy_program(tmp_path: Path) -> Path:
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, tmp_path / part)
    return tmp_path


def test_content_check_flags_a_default_that_assumes_a_shared_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a coach who writes an at-home example into a default text
    root = copy_program(tmp_path)
    prompts = root / "messages" / "en" / "prompts_reward.yaml"
    text = prompts.read_text()
    prompts.write_text(text.replace("share something {loved_one} likes to eat", "eat together"))
    lines = prompts.read_text().splitlines()
    entry = lines.index("reward.tonight_meal:")
    line = next(n for n in range(entry, len(lines)) if lines[n].startswith("  text:")) + 1
    # when they check the content
    assert main(["content", "check", "--path", str(root)]) == 1
    err = capsys.readouterr().err
    # then they are told where, what, and what to do instead
    assert f"prompts_reward.yaml:{line}:" in err
    assert "'reward.tonight_meal'" in err and "'eat together'" in err and "for:" in err


def test_a_shared_home_phrase_in_a_variant_is_fine_and_in_a_default_is_not(
    tmp_path: Path,
) -> None:
    en = tmp_path / "en"
    en.mkdir()
    (en / "m.yaml").write_text(
        "reward.a:\n"
        "  text: Tonight, call them.\n"
        "  for:\n"
        "    partner:\n"
        "      text: Tonight, eat   together.\n"
        "reward.b:\n"
        "  text: Ok.\n"
        "  long: Before bed tonight, say one kind thing.\n"
    )
    catalogs, problems = load_catalogs(tmp_path)
    assert problems == []
    flagged = shared_home_defaults(catalogs, {"en": ["eat together", "before bed tonight"]})
    assert [(p.where, p.line) for p in flagged] == [("message 'reward.b'", 8)]
    assert "'Before bed tonight'" in flagged[0].message
    rows = {c.relationship: (c.own, c.default) for c in coverage(catalogs, "en")}
    assert rows["partner"] == (1, 1) and rows["sibling"] == (0, 2)


def test_a_broken_phrase_file_is_reported_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "shared_home_phrases.yaml"
    path.write_text("- eat together\n")
    phrases, problems = load_shared_home_phrases(path)
    assert phrases == {} and "a list of phrases per locale" in problems[0].message
    assert load_shared_home_phrases(tmp_path / "absent.yaml") == ({}, [])


def test_summary_numbers_are_refused_outside_a_summary(tmp_path: Path) -> None:
    en = tmp_path / "en"
    en.mkdir()
    (en / "m.yaml").write_text(
        "summary.days:\n  text: 'Days without use: {non_use_days}.'\n"
        "lesson.x:\n  text: 'You had {use_days} hard days.'\n"
    )
    catalogs, _ = load_catalogs(tmp_path)
    problems = misplaced_context_placeholders(catalogs)
    assert [(p.where, p.line) for p in problems] == [("message 'lesson.x'", 4)]
    assert "{use_days}" in problems[0].message
    assert misplaced_context_placeholders(shipped().catalogs) == []


# ---------------------------------------------------------------- safety first
def step_back_like() -> list[str]:
    return [
        i
        for i in shipped().catalogs.ids()
        if i.split(".")[0] in ("step_back", "treatment_step_back", "recovery_step_back")
    ]


def test_the_first_step_back_replies_a_family_meets_carry_a_safety_line() -> None:
    # a family can answer "use" on day 1, three days before the safety lessons
    lessons = shipped().program.flows.order.lessons
    first_step_back_lesson = next(i for i, m in enumerate(lessons) if "step_back" in m)
    assert lessons.index("lesson.safety_first") < first_step_back_lesson
    assert lessons.index("lesson.safety_plan") < first_step_back_lesson
    pool = shipped().program.pools["step_back"]
    for message_id in pool[:5]:
        for rel in (*RELATIONSHIPS, "other"):
            text = said(message_id, rel)
            assert "unsafe" in text and "911" in text, (message_id, rel)


@pytest.mark.parametrize("message_id", step_back_like())
def test_every_step_back_reply_leaves_room_for_the_safety_line(message_id: str) -> None:
    line = said("safety.line", "other")
    for rel in (*RELATIONSHIPS, "other"):
        text = said(message_id, rel, name="Christopher") + " " + line
        encoding, segments = count_segments(text)
        assert (encoding, segments <= 2) == ("GSM-7", True), (rel, len(text), text)


def test_the_safety_answers_say_what_to_do_and_how_to_change_them() -> None:
    for answer in ("safety.reply_yes", "safety.reply_sometimes"):
        text = said(answer, "partner")
        assert "911" in text and "1-800-799-7233" in text and "SAFETY" in text
    assert "SAFETY" in said("safety.reply_no", "friend")
    ask = said("safety.ask", "sibling", loved_one="Robin")
    assert ask.index("Robin") > 40 and "YES, SOMETIMES or NO" in ask


# ---------------------------------------------------------------- opioid and stimulant safety
def all_texts() -> list[tuple[str, str]]:
    return [
        (entry.id, text)
        for entry in shipped().catalogs.locales["en"].values()
        for forms in entry.variants().values()
        for text in forms.all_forms().values()
    ]


def test_naloxone_advice_no_longer_hangs_on_knowing_opioids_are_involved() -> None:
    # fentanyl turns up in fake pills and stimulants: "if opioids could be involved" is unsafe
    stale = re.compile(r"if opioids (could|may|might) be involved", re.IGNORECASE)
    assert [i for i, t in all_texts() if stale.search(t)] == []


def test_tolerance_and_medication_are_taught_where_they_matter() -> None:
    lessons = shipped().program.flows.order.lessons
    assert "lesson.tolerance_after_a_break" in lessons
    assert "lesson.medications_for_opioids" in lessons
    assert "lesson.fentanyl_in_many_drugs" in lessons
    for message_id in ("lesson.once_in_treatment", "lesson.starts_stops_returns"):
        for channel in ("sms", "email"):
            assert "tolerance" in said(message_id, "other", channel=channel), message_id
    medication = said("lesson.medications_for_opioids", "other")
    assert "methadone" in medication and "buprenorphine" in medication
