"""Checks on the shipped English CRAFT content: length, placeholders, words, sources,
reachability."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.catalog.banned_terms import BannedTerms, load_banned_terms
from bot.catalog.render import COUNTRY_PLACEHOLDERS, longest_country_words
from bot.catalog.segments import count_segments, non_gsm_characters
from tests.program import shipped

ROOT = Path(__file__).resolve().parent.parent
EN = ROOT / "messages" / "en"
PROGRAM = ROOT / "flows" / "program.yaml"
BANNED = ROOT / "messages" / "banned_terms.yaml"  # the one list (docs/content.md names it)
# Files this content suite owns; the general checks below run over every file in messages/en/.
CONTENT_FILES = (
    "lessons",
    "review",
    "prompts_reward",
    "prompts_step_back",
    "prompts_unsure",
    "selfcare",
    "window",
    "resources",
    "safety",
    "tracks",
    "wellbeing",
    "summary",
)
# The numbers only a weekly summary knows, with long-ish sample values (bot/catalog/render.py).
SUMMARY = {"non_use_days": "7", "use_days": "7", "unsure_days": "7", "wellbeing": "1, 2, 3, 4, 5"}
ALLOWED = {
    "name",
    "loved_one",
    "Loved_one",
    "rewards",
    "org",
    "org_contact",
    "answer_within",
    "lesson_time",
    "checkin_time",
    "pause_end",
    *SUMMARY,
    *COUNTRY_PLACEHOLDERS,
}
# How the bot names the loved one when no name was given, by the family member's relationship.
FALLBACK = {
    "parent": "your child",
    "partner": "your partner",
    "sibling": "your sibling",
    "child": "your parent",
    "friend": "your friend",
    "other": "your loved one",
}
# Long enough to stand for real values: names up to 14 characters fit wherever the fallbacks fit.
ORG = {
    "org": "Family Recovery Center",
    "org_contact": "help@recovery-center.example.org",
    "answer_within": "within two working days",  # ASK_ANSWER_WITHIN
}
REWARDS = "fishing with his uncle, tacos, old films, a walk on Sundays"
MIN_POOL = {
    "lesson": 42,
    "review": 14,
    "reward": 15,
    "step_back": 15,
    "unsure": 8,
    "selfcare": 20,
    "window": 6,
}
# Lock-screen previews show the first words (craft-facts §6): keep these words out of them.
PREVIEW_CHARS = 40
PREVIEW_WORDS = re.compile(
    r"\b(overdose|naloxone|narcan|opioids?|fentanyl|drugs?|drunk|drinking|"
    r"violence|rehab|detox|jail|prison|probation|courts?)\b",
    re.IGNORECASE,
)
TRY_TODAY = re.compile(r"Try today: [^\n]+$")


def load(path: Path) -> Any:
    # ruamel's safe loader refuses duplicate keys, so a repeated id in one file fails here.
    with path.open(encoding="utf-8") as fh:
        return YAML(typ="safe").load(fh)


def catalog_files() -> list[Path]:
    return sorted(EN.glob("*.yaml"))


def entries(stems: tuple[str, ...] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in catalog_files():
        if stems is None or path.stem in stems:
            out.update(load(path) or {})
    return out


def forms(entry: Any) -> Iterator[tuple[str, str, str, int]]:
    """Every (variant, form, text, max_segments) of one entry: base, for <rel>, when <field>."""
    if isinstance(entry, str):
        yield "base", "text", entry.strip(), 2
        return
    budget = entry.get("max_segments", 2)
    variants = [("base", entry)]
    variants += [(f"for {rel}", v) for rel, v in (entry.get("for") or {}).items()]
    variants += [(f"when {k}", v) for k, v in (entry.get("when_known") or {}).items()]
    for label, variant in variants:
        if isinstance(variant, str):
            yield label, "text", variant.strip(), budget
            continue
        for form in ("text", "sms", "long"):
            if form in variant:
                yield label, form, variant[form].strip(), budget


def sms_forms(entry: Any) -> Iterator[tuple[str, str, int]]:
    """What SMS sends for each variant: its `sms`, else its `text`."""
    by_variant: dict[str, dict[str, str]] = {}
    budgets: dict[str, int] = {}
    for label, form, text, budget in forms(entry):
        by_variant.setdefault(label, {})[form] = text
        budgets[label] = budget
    for label, fs in by_variant.items():
        yield label, fs.get("sms") or fs["text"], budgets[label]


def relationships_for(label: str) -> list[str]:
    return [label.removeprefix("for ")] if label.startswith("for ") else list(FALLBACK)


@cache
def country_words() -> dict[str, str]:
    return longest_country_words(shipped().catalogs, "en")


def render(text: str, relationship: str, name: str = "", loved_one: str = "") -> str:
    loved = loved_one or FALLBACK[relationship]
    values = {
        "name": name or "friend",
        "loved_one": loved,
        "Loved_one": loved[:1].upper() + loved[1:],
        "rewards": REWARDS,
        "lesson_time": "9:00 am",
        "checkin_time": "7:00 pm",
        "pause_end": "Wednesday 30 September",
        **SUMMARY,
        **ORG,
        # {emergency} and its kind: every country's longest words (a family of any country)
        **country_words(),
    }
    return text.format_map(values)


def test_every_sms_form_fits_its_segment_budget_for_every_relationship() -> None:
    # given every message, every variant and every way of naming the loved one
    too_long = []
    for mid, entry in entries().items():
        for label, text, budget in sms_forms(entry):
            for rel in relationships_for(label):
                # when it is rendered for a family member with a long first name
                rendered = render(text, rel, name="Christopher")
                encoding, segments = count_segments(rendered)
                # then it fits the segments it may use
                if segments > budget:
                    too_long.append(
                        f"{mid} ({label}, {rel}): {segments} {encoding} segments, "
                        f"{len(rendered)} chars, budget {budget}"
                    )
    assert too_long == []


def test_content_sms_forms_are_plain_gsm7() -> None:
    # given the content files, whose texts budget 153 characters a segment
    offenders = {
        f"{mid} ({label})": non_gsm_characters(text)
        for mid, entry in entries(CONTENT_FILES).items()
        for label, text, _ in sms_forms(entry)
        if non_gsm_characters(text)
    }
    # then no curly quote, dash or emoji halves that budget by forcing UCS-2
    assert offenders == {}


def test_long_forms_stay_under_900_characters() -> None:
    too_long = [
        f"{mid} ({label}): {len(render(text, 'other'))}"
        for mid, entry in entries().items()
        for label, form, text, _ in forms(entry)
        if form == "long" and len(render(text, "other", name="Christopher")) > 900
    ]
    assert too_long == []


def test_placeholders_are_known_and_rewards_only_when_known() -> None:
    bad = []
    for mid, entry in entries().items():
        for label, form, text, _ in forms(entry):
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            if used - ALLOWED:
                bad.append(f"{mid} ({label} {form}): unknown {sorted(used - ALLOWED)}")
            for only in ("rewards", "pause_end"):
                if only in used and label != f"when {only}":
                    bad.append(f"{mid} ({label} {form}): {{{only}}} outside when_known.{only}")
            if re.search(r"\byour \{[Ll]oved_one\}", text, re.IGNORECASE):
                bad.append(
                    f"{mid} ({label} {form}): 'your {{loved_one}}' reads 'your your partner'"
                )
    assert bad == []


def banned_terms() -> BannedTerms:
    terms, problems = load_banned_terms(BANNED)
    assert problems == []
    return terms


def test_no_banned_term_in_any_message() -> None:
    # given the list of stigmatizing words from craft-facts §7
    terms = banned_terms()
    found = []
    for mid, entry in entries().items():
        for label, form, text, _ in forms(entry):
            # then none of them is in any form of any message
            hit = terms.find(text)
            if hit:
                found.append(f"{mid} ({label} {form}): '{hit.word}', say {hit.term.instead}")
    assert found == []


def test_banned_list_catches_the_words_it_is_for_and_spares_tidying_up() -> None:
    terms = banned_terms()

    def banned(text: str) -> bool:
        return terms.find(text) is not None

    assert banned("He got clean last year")
    assert banned("After his relapse")
    assert banned("substance abuse")
    assert banned("Is he a user?")
    assert not banned("Stop cleaning up after use, and don't clean up the mess")
    assert not banned("a return to use")
    assert not banned("Alcoholics Anonymous meets on Tuesdays; call the domestic abuse line")


def test_no_id_is_defined_in_two_files() -> None:
    seen: dict[str, str] = {}
    twice = []
    for path in catalog_files():
        for mid in load(path) or {}:
            if mid in seen:
                twice.append(f"{mid}: {seen[mid]} and {path.name}")
            seen[mid] = path.name
    assert twice == []


def test_pools_have_their_minimum_size() -> None:
    ids = list(entries())
    counts = {p: sum(1 for i in ids if i.startswith(p + ".")) for p in MIN_POOL}
    assert {p: c for p, c in counts.items() if c < MIN_POOL[p]} == {}


def test_program_lists_every_lesson_once_and_every_review_once() -> None:
    # given the program order and the catalog
    program = load(PROGRAM)
    ids = entries()
    lessons = [i for i in ids if i.startswith("lesson.")]
    reviews = [i for i in ids if i.startswith("review.")]
    # then each lesson is reachable exactly once, and nothing else is in the lesson list
    assert sorted(program["lessons"]) == sorted(lessons)
    assert len(program["lessons"]) == len(set(program["lessons"]))
    # and the maintenance rotation reaches every review, so no family stops hearing from us
    assert sorted(program["maintenance"]) == sorted(reviews)
    assert len(program["maintenance"]) == len(set(program["maintenance"]))


def facts_sections() -> set[str]:
    """'§1', '§2', '§2.1' ... from craft-facts.md: numbered headings and numbered items under
    them."""
    candidates = [
        os.environ.get("CRAFTBOT_FACTS", ""),
        str(ROOT / "docs" / "craft-facts.md"),
        str(ROOT.parent / "shared" / "content" / "craft-facts.md"),
    ]
    path = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if path is None:
        pytest.skip("craft-facts.md not found (set CRAFTBOT_FACTS to its path)")
    sections: set[str] = set()
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"##\s+(\d+)\.", line):
            current = heading.group(1)
            sections.add(f"§{current}")
        elif (item := re.match(r"(\d+)\.\s", line)) and current:
            sections.add(f"§{current}.{item.group(1)}")
    return sections


def test_every_lesson_and_review_names_sections_that_exist_in_the_facts_sheet() -> None:
    known = facts_sections()
    bad = []
    for mid, entry in entries().items():
        if not mid.startswith(("lesson.", "review.")):
            continue
        cited = re.findall(r"§\d+(?:\.\d+)?", str(entry.get("source", "")))
        if not cited or set(cited) - known:
            bad.append(f"{mid}: source {entry.get('source')!r}")
    assert bad == []


def test_every_lesson_and_review_ends_with_one_thing_to_try_today() -> None:
    missing = [
        f"{mid} ({label} {form})"
        for mid, entry in entries(("lessons", "review")).items()
        for label, form, text, _ in forms(entry)
        if not TRY_TODAY.search(text) or text.count("Try today:") != 1
    ]
    assert missing == []


def test_lock_screen_preview_shows_no_name_and_no_alarming_word() -> None:
    # given a family member who shares a phone, and the first words a lock screen shows
    exposed = []
    for mid, entry in entries(CONTENT_FILES).items():
        for label, text, _ in sms_forms(entry):
            rel = relationships_for(label)[0]
            rendered = render(text, rel, name="Jo", loved_one="LOVED_ONE_NAME")
            # then neither the loved one's name nor a word like "overdose" starts in it
            starts = [m.start() for m in PREVIEW_WORDS.finditer(rendered)]
            starts += [m.start() for m in re.finditer("LOVED_ONE_NAME", rendered)]
            if starts and min(starts) < PREVIEW_CHARS:
                exposed.append(f"{mid} ({label}): {rendered[: PREVIEW_CHARS + 14]!r}")
    assert exposed == []


def test_evening_prompts_do_what_the_issue_asks() -> None:
    ids = entries()
    with_rewards = [
        i
        for i, e in ids.items()
        if i.startswith("reward.")
        and "{rewards}" in str((e.get("when_known") or {}).get("rewards", ""))
    ]
    naloxone = [i for i, e in ids.items() if i.startswith("step_back.") and "naloxone" in str(e)]
    windows = {i: str(e) for i, e in ids.items() if i.startswith("window.")}
    assert len(with_rewards) >= 8
    assert len(naloxone) >= 3
    # each window prompt carries a script in quotes and the reminder to have an option ready
    assert [
        i
        for i, t in windows.items()
        if '"' not in t or not re.search(r"option|number|findtreatment", t)
    ] == []


def test_help_reply_meets_the_sms_rules() -> None:
    # craft-facts §6: program name, a contact, opt-out instructions, frequency, rates
    help_sms = render(entries()["keyword.help"]["sms"], "other")
    for needed in (
        "Family Recovery Center craftbot coaching",
        ORG["org_contact"],
        "STOP",
        "25-40 messages a week",
        "Msg & data rates may apply",
    ):
        assert needed in help_sms


def test_only_sms_help_speaks_of_message_rates() -> None:
    # carriers' rates are an SMS matter: Telegram and email read the `text` form of every HELP
    for locale in ("en", "es"):
        helps = {
            mid: entry
            for path in (ROOT / "messages" / locale).glob("*.yaml")
            for mid, entry in (load(path) or {}).items()
            if mid.startswith("keyword.help")
        }
        assert helps, locale
        for mid, entry in helps.items():
            assert "rates may apply" not in entry["text"] and "tarifas" not in entry["text"], mid
            assert "sms" in entry, mid
            assert "rates may apply" in entry["sms"] or "tarifas" in entry["sms"], mid


@pytest.mark.parametrize(
    ("relationship", "name", "loved_one"), [("parent", "", ""), ("partner", "Alexandra", "Sam")]
)
def test_six_weeks_render_cleanly_for_a_parent_and_a_partner(
    relationship: str, name: str, loved_one: str
) -> None:
    # given the program as one family would receive it, every channel's form
    ids = entries()
    program = load(PROGRAM)
    broken = []
    for mid in [*program["lessons"], *program["maintenance"]]:
        entry = ids[mid]
        chosen = (entry.get("for") or {}).get(relationship, entry)
        for form in ("text", "sms", "long"):
            if form not in chosen:
                continue
            # when it is rendered
            out = render(chosen[form].strip(), relationship, name, loved_one)
            # then no placeholder survives, and "your" is never doubled
            if re.search(r"[{}]|\byour your\b", out, re.IGNORECASE) or "  " in out:
                broken.append(f"{mid} {form}: {out[:80]!r}")
    assert broken == []
