"""Reading check-in replies with the shared engine: options, negation scope, hedges, windows,
short answers and emoji, both languages, and lexicons that are only data.

The corpus figures are in test_checkin_corpus.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT
from bot.understanding.explain import explain_checkin
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding


@pytest.fixture(scope="module")
def u() -> Understanding:
    understanding, problems = load_understanding(REPO_ROOT / "messages")
    assert understanding is not None, problems
    return understanding


def category(u: Understanding, text: str) -> str:
    return u.checkin(text).category or "none"


# ------------------------------------------------------------------------------ tricky replies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "non_use"),
        ("1!", "non_use"),
        ("one", "non_use"),
        ("#1", "non_use"),
        ("2.", "use"),
        ("option 2", "use"),
        ("2 :(", "use"),
        ("#2", "use"),
        ("two", "use"),
        ("3", "unsure"),
        ("three", "unsure"),
        ("I'd say 3", "unsure"),
        ("1\ufe0f\u20e3", "non_use"),
    ],
)
def test_numbered_options_pick_their_answer(u: Understanding, text: str, expected: str) -> None:
    # given a reply that is an option number, maybe with punctuation or emoji
    # when it is read / then it picks that option
    assert category(u, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 beers", "use"),  # a count, not option 2
        ("he had 2 beers", "use"),
        ("1 beer with dinner", "use"),  # "1 beer" is still beer, never option 1
        ("3 days sober", "non_use"),  # a count of days, not option 3
        ("He's hungover and slept till 3", "use"),  # a time, not option 3
        ("one more drink and he was gone", "use"),  # "one" only picks option 1 alone
    ],
)
def test_numbers_that_count_things_are_not_options(
    u: Understanding, text: str, expected: str
) -> None:
    assert category(u, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("didn't use", "non_use"),
        ("didnt drink today", "non_use"),
        ("not drinking today", "non_use"),
        ("he wasn't high", "non_use"),
        ("no weed today", "non_use"),
        ("my husband didn't have a single beer tonight", "non_use"),
        ("no drugs or alcohol today", "non_use"),  # one negation covers both
        ("not sober", "use"),
        ("he was not sober at all", "use"),
        ("no idea", "unsure"),
        ("not sure", "unsure"),
        ("not today he was wasted", "use"),  # "not" is about "today", not about "wasted"
        ("he didn't go to work he drank all day", "use"),  # too far and past "he"
        ("no, he used", "use"),
        ("not a good day", "unsure"),  # a day can be bad for other reasons
    ],
)
def test_negation_turns_answers_around_only_where_it_reaches(
    u: Understanding, text: str, expected: str
) -> None:
    assert category(u, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "he wasn't that drunk",
        "he didn't drink much",
        "she didn't drink a lot tonight",
    ],
)
def test_less_than_usual_is_never_a_non_use_day(u: Understanding, text: str) -> None:
    # given a reply that says "some, but less" / then it is unsure, not a day to reward
    assert category(u, text) == "unsure"


@pytest.mark.parametrize(
    "text",
    [
        "he said he didn't but he smelled like beer",
        "he didn't drink but he smelled like weed",
        "1 or 2, I honestly don't know",
        "good day but he drank at night",
        "I think he used",
        "pretty sure he drank",
        "probably sober?",
        "he says he's been sober but idk",
        "1 i think",
        "maybe he had a beer",
    ],
)
def test_mixed_or_hedged_reports_are_unsure(u: Understanding, text: str) -> None:
    # rewarding a use day or stepping back on a non-use day hurts; unsure is safe on both
    assert category(u, text) == "unsure"


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "who is this?",
        "thanks",
        "hi",
        "what?",
        "stop texting me at work",
        "yes",
        "no",
        "",
        "   ",
        "what's a use day?",
        "what if he uses tomorrow?",
        "fine",
        "i think so",
    ],
)
def test_ambiguous_or_unrelated_replies_are_not_answers(u: Understanding, text: str) -> None:
    # given a reply that is not an answer / then the bot must ask again, never record it
    assert u.checkin(text).category is None


@pytest.mark.parametrize(
    ("text", "category", "window"),
    [
        ("1, and he said he wants things to be different", "non_use", "wish"),
        ("sober today and he asked me about treatment options", "non_use", "wish"),
        ("He didn't drink but he feels awful about losing his job", "non_use", "dip"),
        ("2. he said he hates how he's been", "use", "dip"),
        # the wish mentions drinking; that is a hope, not a second report of use
        ("1, he said he wants to stop drinking", "non_use", "wish"),
        ("he drank", "use", None),
    ],
)
def test_windows_of_opportunity_are_marked_apart_from_the_answer(
    u: Understanding, text: str, category: str, window: str | None
) -> None:
    reading = u.checkin(text)
    assert (reading.category, reading.window) == (category, window)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no tomó hoy", "non_use"),
        ("dos", "use"),
        ("se emborrachó", "use"),
        ("no se drogó", "non_use"),  # "no se" (I don't know) must not swallow "no se drogó"
        ("no sé", "unsure"),
        ("creo que tomó", "unsure"),
        ("hola", "none"),
    ],
)
def test_spanish_comes_from_its_own_lexicon(u: Understanding, text: str, expected: str) -> None:
    assert category(u, text) == expected


def test_every_language_reads_every_reply_together(u: Understanding) -> None:
    # One reading for every contact: people switch languages and mix them. Spanish negation
    # turns the English word around ("nada de alcohol"), and the other way round.
    assert category(u, "no tomó nada") == "non_use"
    assert category(u, "nada de alcohol hoy") == "non_use"
    assert category(u, "he no tomó hoy") == "non_use"
    assert category(u, "he didn't touch any alcohol") == "non_use"
    assert category(u, "no drinks hoy, todo bien") == "non_use"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # short and curt answers, emoji (issue 14)
        ("nah, nothing", "non_use"),
        ("dunno", "unsure"),
        ("all good", "non_use"),
        ("👍", "non_use"),
        ("🍺🍺", "use"),
        ("🤷", "unsure"),
        # formal words for not using
        ("he remained abstinent", "non_use"),
        ("she refrained from drinking", "non_use"),
        ("he did not partake", "non_use"),
        # negation scope
        ("he stayed home and away from everything", "non_use"),
        ("didn't drink or smoke", "non_use"),
        ("didn't smoke any weed today", "non_use"),
        ("no drinks today 👍", "non_use"),
        # another day, another person, a hypothetical: not about today
        ("yesterday he drank but today nothing", "non_use"),
        ("his friends were drinking but he had a soda", "none"),
        ("if he drinks tomorrow i dont know what ill do", "none"),
        ("he used to drink every night", "none"),
    ],
)
def test_replies_families_really_send(u: Understanding, text: str, expected: str) -> None:
    assert category(u, text) == expected, explain_checkin(u.checkin(text))


def test_a_rant_at_check_in_time_is_not_an_answer_and_is_reflected(u: Understanding) -> None:
    text = "he came home at 2am again and my husband blames me for everything"
    assert u.checkin(text).category is None
    assert u.reflection(text) == "feelings"
    assert u.reflection("he came home late and we argued about the car and the bills") == "story"
    assert u.reflection("what does 3 mean?") == "question"
    assert u.reflection("hmm") is None


def test_the_explanation_shows_each_piece_of_evidence_and_its_modifiers(u: Understanding) -> None:
    text = explain_checkin(u.checkin("yesterday he drank but today he didnt touch a drop"))
    assert text.startswith("check-in: non_use")
    assert 'answer use: "drank"; modifiers other_day "yesterday"' in text


# ------------------------------------------------------------------------------ lexicon as data


def toy_language(tmp_path: Path, checkin: str) -> Path:
    """A made-up language "xx" with its own words: every rule comes from data, not from code."""
    messages = tmp_path / "messages"
    (messages / "xx/understanding").mkdir(parents=True)
    (messages / "en/understanding").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "messages/en/understanding/answers.yaml", messages / "en/understanding")
    (messages / "xx/understanding/context.yaml").write_text(
        "language: xx\nmodifiers:\n  negated:\n    reach: 3\n    before: [nahi]\n"
        "  uncertain:\n    either: [shayad]\n",
        encoding="utf-8",
    )
    (messages / "xx/understanding/crisis.yaml").write_text(
        "categories:\n  overdose:\n    held_by: {negated: mention}\n"
        "signs:\n  overdose:\n    x: [saans nahi]\n",
        encoding="utf-8",
    )
    (messages / "xx/understanding/checkin.yaml").write_text(checkin, encoding="utf-8")
    return messages


TOY = """language: xx
answers:
  non_use: {options: ["1", ek], phrases: [saaf]}
  use: {options: ["2", do], phrases: [piya]}
  unsure: {options: ["3"], phrases: [pata nahi]}
window:
  wish: [chahta ... badalna]
"""


def test_a_new_language_is_only_data(tmp_path: Path) -> None:
    toy, problems = load_understanding(toy_language(tmp_path, TOY))
    assert toy is not None, problems
    assert category(toy, "ek!") == "non_use"
    assert category(toy, "piya") == "use"
    assert category(toy, "nahi piya") == "non_use"
    assert category(toy, "pata nahi") == "unsure"
    assert category(toy, "shayad piya") == "unsure"
    assert (toy.checkin("saaf, chahta hai sab badalna").window) == "wish"
    assert category(toy, "hello") == "none"
    assert toy.crisis("saans nahi").tier == "emergency"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("answers:", "answrs:", "'answrs' is not a known key (known: language, answers"),
        ("language: xx", "language: es", "the file says language 'es' but sits in the folder 'xx'"),
        ("wish: [chahta ... badalna]", "wish: [... badalna]", "starts with a gap"),
        ("wish: [", "hope: [", "'hope' is not a known key"),
        (
            'use: {options: ["2", do]',
            'use: {options: ["1", do]',
            "option '1' is already an option for non_use",
        ),
        (
            '  unsure: {options: ["3"], phrases: [pata nahi]}',
            '  unsure: {options: ["3"], soft_phrases: [hmm]}',
            "unsure phrases are never turned around",
        ),
        ("phrases: [piya]", "phrases: [saaf]", "'saaf' is listed twice with different meanings"),
        ("phrases: [piya]", "phrases: [piya, false]", "which YAML reads as true/false"),
    ],
)
def test_bad_lexicon_data_is_refused_with_file_line_and_a_sentence(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in TOY
    messages = toy_language(tmp_path, TOY.replace(old, new))
    toy, problems = load_understanding(messages)
    assert toy is None
    report = "\n".join(map(str, problems))
    assert message in report and "xx/understanding/checkin.yaml:" in report
