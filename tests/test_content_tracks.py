"""The words for the stage-aware tracks, the safety question, wellbeing and the weekly summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog.awaiting import AWAITING_FILE, load_awaiting
from bot.catalog.render import Audience, render
from bot.settings import REPO_ROOT
from tests.program import shipped
from tests.test_catalog_reach import referenced_ids
from tests.test_content import facts_sections

ORG = {"org": "Family Recovery Center", "org_contact": "help@recovery-center.example.org"}
TRY_TODAY = re.compile(r"Try today: [^\n]+$")
WEEK = {"non_use_days": "3", "use_days": "2", "unsure_days": "1", "wellbeing": "2, then 3"}


def ids(pool: str) -> list[str]:
    return list(shipped().catalogs.pool(pool))


def said(message_id: str, relationship: str = "other", **profile: str) -> str:
    audience = Audience("sms", profile={"relationship": relationship, "country": "US", **profile})
    return render(shipped().catalogs, message_id, audience, ORG)


def test_the_drip_still_gives_at_least_42_distinct_lessons() -> None:
    lessons = shipped().program.flows.order.lessons
    assert len(lessons) == len(set(lessons)) >= 42


@pytest.mark.parametrize("track", ["treatment", "recovery"])
def test_each_new_track_has_two_weeks_of_lessons_and_its_own_evening_replies(track: str) -> None:
    lessons = ids(f"{track}_lesson")
    assert len(lessons) >= 14
    assert len(ids(f"{track}_reward")) >= 5 and len(ids(f"{track}_step_back")) >= 5
    known = facts_sections()
    catalogs = shipped().catalogs
    for message_id in lessons:
        entry = catalogs.get(message_id, "en")
        assert entry is not None
        cited = set(re.findall(r"§\d+(?:\.\d+)?", entry.source or ""))
        assert cited and cited <= known, message_id
        for forms in entry.variants().values():
            for text in forms.all_forms().values():
                assert TRY_TODAY.search(text) and text.count("Try today:") == 1, message_id
    # a step back in these stages still comes with safety: a safety line or the overdose steps
    for message_id in ids(f"{track}_step_back"):
        text = said(message_id)
        assert "911" in text, message_id


def test_the_tracks_say_what_the_issue_asks() -> None:
    treatment = " ".join(said(i) for i in ids("treatment_lesson"))
    recovery = " ".join(said(i) for i in ids("recovery_lesson"))
    for words in ("step back from the details", "missed", "probation", "tolerance", "DBT"):
        assert words in treatment, words
    for words in ("common", "sober day", "tolerance", "naloxone"):
        assert words in recovery, words


def test_the_stage_question_has_a_reply_for_each_answer() -> None:
    ask = said("stage.ask", loved_one="Robin")
    assert ask.index("Robin") > 40 and "UPDATE" in ask
    for n in "1234":
        assert f"{n} " in ask
    for stage in ("engaging", "treatment", "recovery", "unsure"):
        assert said(f"stage.reply_{stage}")


def test_wellbeing_replies_per_band_and_a_person_for_a_standing_low_answer() -> None:
    assert "1 to 5" in said("wellbeing.ask", name="Ana")
    assert "988" in said("wellbeing.reply_low")
    assert said("wellbeing.reply_mid") != said("wellbeing.reply_high")
    assert "Family Recovery Center" in said("wellbeing.offer_person")
    assert len(ids("selfcare_low")) >= 8


def test_the_summary_reads_as_sentences_with_numbers_and_no_promise() -> None:
    days = said("summary.days", **WEEK)
    assert days == "Days without use: 3. Days with use: 2. Not sure: 1."
    assert "2, then 3" in said("summary.wellbeing", **WEEK)
    true_sentences = [i for i in ids("summary") if i.startswith("summary.true_")]
    assert len(true_sentences) >= 4 and true_sentences[-1] == "summary.true_still_here"
    promise = re.compile(r"\bwill (get|be|become)\b|guarantee|promise|soon be", re.IGNORECASE)
    assert [i for i in ids("summary") if promise.search(said(i, **WEEK))] == []
    assert said("feedback.ask").endswith("Reply 1 (not really) to 5 (a lot).")


def test_the_awaiting_list_matches_messages_no_flow_sends_yet() -> None:
    awaiting, problems = load_awaiting(REPO_ROOT / "messages" / AWAITING_FILE)
    assert problems == []
    catalog_ids = shipped().catalogs.ids()
    # every listed name has messages behind it
    assert awaiting.unmatched(catalog_ids) == []
    # and none of them is sent by a flow yet: once one is, it comes off the list
    waiting = {i for i in catalog_ids if awaiting.reason(i)}
    assert waiting & referenced_ids() == set()
    # and the words of issue 16 all have their flows now
    assert {"safety.ask", "stage.ask", "wellbeing.ask", "summary.days", "feedback.ask"} <= (
        referenced_ids() - waiting
    )


def test_a_malformed_awaiting_entry_is_reported(tmp_path: Path) -> None:
    path = tmp_path / AWAITING_FILE
    path.write_text("awaiting:\n  - pools: [safety]\n  - for: the summary\n    pools: [summary]\n")
    awaiting, problems = load_awaiting(path)
    assert [p.where for p in problems] == ["awaiting entry 1"]
    assert awaiting.reason("summary.days") == "the summary" and awaiting.reason("safety.x") is None
