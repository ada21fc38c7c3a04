"""Crisis reading: signs in context, the tiers, the explanation, and lexicons coaches can edit.

The corpus figures are in test_crisis_corpus.py; these are the behaviours a family would notice.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT
from bot.understanding.explain import explain_crisis
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding


@pytest.fixture(scope="module")
def u() -> Understanding:
    understanding, problems = load_understanding(REPO_ROOT / "messages")
    assert understanding is not None, problems
    return understanding


def tier(u: Understanding, text: str) -> tuple[str, str | None]:
    reading = u.crisis(text)
    return reading.tier, reading.category


# ---------------------------------------------------------------- signs, whatever the wording


@pytest.mark.parametrize(
    "text",
    [
        "he's not breathing",
        "he is NOT breathing!!",
        "she isn't responding",
        "he won't wake up",
        "hes not breating",
        "shes having a siezure",
        "i think its an overdoes",
        "he OD'd",
        "i think she ODed",
        "shes oding",
        "OD",
        "no respira",
        "my son no respira please",
    ],
)
def test_overdose_signs_are_emergencies_however_they_are_typed(u: Understanding, text: str) -> None:
    assert tier(u, text) == ("emergency", "overdose")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my husband doesnt want to be here anymore", "suicide"),  # no apostrophe
        ("he keeps looking up ways to die", "suicide"),  # a method
        ("my brother cut his wrists", "suicide"),  # third person, self-harm
        ("kms", "suicide"),
        ("quiero morir", "suicide"),
        ("he threatend to kill me", "violence"),
        ("he's chocking me", "violence"),
        ("he has a kinfe", "violence"),
        ("tiene un cuchilo", "violence"),
        ("my toddler swallowed some of my pills", "child"),
        ("he's driving high with the kids in the car", "child"),
        ("dejaron al bebe solo en la casa", "child"),
    ],
)
def test_every_category_and_misspelling(u: Understanding, text: str, category: str) -> None:
    assert tier(u, text) == ("emergency", category)


def test_a_sign_in_sentence_four_of_a_long_message_is_found(u: Understanding) -> None:
    text = (
        "today was fine. we had lunch. he watched tv for a while. "
        "now he is on the floor and his lips are blue"
    )
    assert tier(u, text) == ("emergency", "overdose")


def test_spanish_signs_are_named_spanish_whatever_the_contacts_language(u: Understanding) -> None:
    reading = u.crisis("tiene una pistola")  # "pistola" is also one typo from "pistol"
    assert (reading.tier, reading.category, reading.language) == ("emergency", "violence", "es")


# ---------------------------------------------------------------- context decides the tier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the past, clearly over: a mention; a present sign beside it wins
        ("he hit me years ago", ("mention", "violence")),
        ("he hit me years ago and he hit me again tonight", ("emergency", "violence")),
        ("he used to hit me and he still does", ("emergency", "violence")),
        ("he used to hit me, and he still does", ("emergency", "violence")),
        ("he overdosed years ago, he's still in recovery", ("mention", "overdose")),
        ("she overdosed back in 2019 and is doing really well now", ("mention", "overdose")),
        ("he hit me again last night", ("emergency", "violence")),  # recent is not over
        # preparedness, hypotheticals, frames
        ("we keep narcan in the car just in case he stops breathing", ("mention", "overdose")),
        ("where can i get naloxone", ("mention", "overdose")),
        ("we watched a documentary about overdoses", ("mention", "overdose")),
        ("i signed up for a 5k for suicide prevention", ("mention", "suicide")),
        # denial and figures of speech
        ("he never hit me, he just yells", ("mention", "violence")),
        ("i'm not suicidal, just tired", ("mention", "suicide")),
        ("my mom is gonna kill me for being late lol", ("mention", "violence")),
        # a threat is never hypothetical
        ("if you call the police he says he will kill me", ("emergency", "violence")),
        # stated safety after a recent event: distress, not an emergency
        ("he overdosed last night but he's in the hospital now and stable", ("distress", None)),
    ],
)
def test_context_decides_the_tier(
    u: Understanding, text: str, expected: tuple[str, str | None]
) -> None:
    reading = u.crisis(text)
    got = (reading.tier, reading.category if reading.tier != "distress" else None)
    assert got == expected, explain_crisis(reading)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("he smashed the tv and punched a hole in the wall", "rage"),
        ("i can't cope with this", "despair"),
        ("i'm scared of him", "fear"),
        ("he passed out drunk on the couch again", "passed_out"),
        ("he overdosed but he's in the hospital now and stable", "after_overdose"),
    ],
)
def test_distress_without_danger_words(u: Understanding, text: str, kind: str) -> None:
    assert tier(u, text) == ("distress", kind)


@pytest.mark.parametrize(
    "text",
    [
        "she killed it at the interview",
        "he hit the gym",
        "dying to see him",
        "this traffic is killing me",
        "hit me up later",
        "i'm cooking dinner",
        "we talked about it",
        "that's odd",
        "we drove 20 kms",
        "me muero de ganas de verla",
        "mi hijo me pegó el resfriado",
        "the baby finally fell asleep",
        "he took his meds this morning",
        "he drank too much at the party and slept it off",
    ],
)
def test_family_life_raises_no_alarm(u: Understanding, text: str) -> None:
    assert u.crisis(text).tier in ("none", "mention")


def test_an_idiom_does_not_hide_a_crisis_in_the_same_message(u: Understanding) -> None:
    reading = u.crisis("she killed it at the interview but then he hit me")
    assert (reading.tier, reading.category) == ("emergency", "violence")
    assert "hit me" in reading.matched


def test_a_child_comes_first_and_the_other_danger_is_kept(u: Understanding) -> None:
    # "the child matters more than the category"; the overdose still needs its own steps
    reading = u.crisis("the baby is not breathing")
    assert (reading.tier, reading.category) == ("emergency", "child")
    both = u.crisis("the baby swallowed a pill and my husband isn't breathing")
    assert (both.category, both.also) == ("child", "overdose")


def test_mentions_carry_the_helpful_answer_that_fits(u: Understanding) -> None:
    assert u.crisis("where can I get narcan?").answer == "naloxone_where"
    assert u.crisis("our narcan expires next month, is that ok").answer == "naloxone_store"
    assert u.crisis("how do you use the narcan spray").answer == "naloxone_use"
    assert u.crisis("what are the signs of an overdose?").answer == "overdose_signs"
    assert u.crisis("we watched a movie about naloxone").answer is None


def test_the_explanation_names_the_sign_its_modifiers_and_the_tier(u: Understanding) -> None:
    text = explain_crisis(u.crisis("we keep narcan in the car just in case he stops breathing"))
    assert text.startswith("tier: mention (overdose) [en]")
    assert 'sign overdose/breathing: "stops breathing"' in text
    assert 'hypothetical: "just in case"' in text and "context.yaml:" in text
    assert "held by hypothetical -> mention" in text
    assert "crisis.yaml:" in text  # the rule, with its file and line, for a coach to fix


def test_nothing_to_read_is_nothing(u: Understanding) -> None:
    for text in ["", "   ", "?!", "👍"]:
        assert u.crisis(text).tier == "none"


def test_reading_is_pure_and_fast(u: Understanding) -> None:
    first = u.crisis("he's not breathing")
    assert first == u.crisis("he's not breathing")
    # A very long message with many near-matches: the search is bounded (no timing assertion
    # here; bench/understanding.py prints the figures).
    long = " ".join(["not", "he", "took", "all", "the", "my", "i", "want", "to"] * 600)
    started = time.perf_counter()
    assert u.crisis(long + " not breathing").tier == "emergency"
    assert time.perf_counter() - started < 30


# ---------------------------------------------------------------- coaches edit the lexicons


def copy_messages(tmp_path: Path) -> Path:
    target = tmp_path / "messages"
    for path in (REPO_ROOT / "messages").glob("*/understanding/*.yaml"):
        dest = target / path.relative_to(REPO_ROOT / "messages")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return target


def test_a_coach_adds_a_sign_class_and_an_idiom_without_python(tmp_path: Path) -> None:
    messages = copy_messages(tmp_path)
    crisis = messages / "en/understanding/crisis.yaml"
    text = crisis.read_text(encoding="utf-8").replace(
        "  violence:\n    assault:\n",
        "  violence:\n    crowbar:\n      - crowbar\n      - took|hid my car|phone * keys\n"
        "    assault:\n",
    )
    text = text.replace("idioms:\n", "idioms:\n  - crowbar museum\n")
    crisis.write_text(text, encoding="utf-8")
    u, problems = load_understanding(messages)
    assert u is not None, problems
    assert tier(u, "he has a crowbarr") == ("emergency", "violence")  # one typo away
    assert tier(u, "he hid my phone and keys") == ("emergency", "violence")
    assert tier(u, "we visited the crowbar museum")[0] == "none"
    assert tier(u, "he had a crowbar years ago") == ("mention", "violence")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("    unresponsive:\n", "    unresponsive:\n      - '* not breathing'\n"),
            "signs.overdose.unresponsive[0]: '* not breathing' starts with a gap",
        ),
        (
            ("    unresponsive:\n", "    unresponsive:\n      - hit|| me\n"),
            "'hit||' in 'hit|| me' has an empty or non-word choice",
        ),
        (
            ("    unresponsive:\n", "    unresponsive:\n      - '@kids * alone'\n"),
            "'@kids' in '@kids * alone' is not a class (known: @assault, @cessation, @child",
        ),
        (
            # `#` is any number, but YAML takes " # pills" for a comment: the phrase would be "took"
            ("    unresponsive:\n", "    unresponsive:\n      - took # pills\n"),
            "'took' is followed by '# pills', which YAML reads as a comment",
        ),
        (("signs:\n  overdose:\n", "signs:\n  overdos:\n"), "'overdos' is not a category"),
        (("idioms:\n", "idiom:\n"), "'idiom' is not a known key"),
        (
            (
                "    held_by: {negated: mention, frame: mention, past: mention, safe: distress}",
                "    held_by: {negated: mention, frame: mention, past: maybe, safe: distress}",
            ),
            "categories.child.held_by.past must be none, mention or distress, found 'maybe'",
        ),
        (("signs:\n", "signs: [\n"), "this is not valid YAML"),
    ],
)
def test_a_broken_lexicon_says_where_and_what(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    messages = copy_messages(tmp_path)
    crisis = messages / "en/understanding/crisis.yaml"
    text = crisis.read_text(encoding="utf-8")
    assert edit[0] in text
    crisis.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    u, problems = load_understanding(messages)
    assert u is None
    report = "\n".join(map(str, problems))
    assert expected in report and str(crisis) in report
    if edit[0] == "    unresponsive:\n":  # the line of the bad entry, right under the class
        line = text[: text.index(edit[0])].count("\n") + 2
        assert f"crisis.yaml:{line}:9: " in report


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    messages = copy_messages(tmp_path)
    crisis = messages / "en/understanding/crisis.yaml"
    text = crisis.read_text(encoding="utf-8").replace(
        "    unresponsive:\n", "    unresponsive:\n      - '* x'\n      - a|| b\n      - '@nope'\n"
    )
    crisis.write_text(text, encoding="utf-8")
    _, problems = load_understanding(messages)
    assert len(problems) == 3


def test_no_lexicon_at_all_is_an_error(tmp_path: Path) -> None:
    u, problems = load_understanding(tmp_path)
    assert u is None
    assert any("no */understanding/crisis.yaml found" in str(p) for p in problems)
