"""Tests for the check-in reply classifier: tricky replies, lexicon loading, and the labeled corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.understanding.checkin import (
    CheckinLexicon,
    CheckinReading,
    classify_checkin,
    load_checkin_lexicon,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "checkin_corpus.yaml"
LANGUAGES = ("en", "es")
LABELS = ("non_use", "use", "unsure", "none")


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _lexicon(language: str) -> CheckinLexicon:
    path = ROOT / "messages" / language / "understanding" / "checkin.yaml"
    return load_checkin_lexicon(_yaml(path), language, str(path))


@pytest.fixture(scope="module")
def lexicons() -> dict[str, CheckinLexicon]:
    return {lang: _lexicon(lang) for lang in LANGUAGES}


def _read(text: str, lexicons: dict[str, CheckinLexicon], locale: str = "en") -> CheckinReading:
    """As the bot calls it: the contact's language first, then the others."""
    ordered = [lexicons[locale], *(lex for lang, lex in lexicons.items() if lang != locale)]
    return classify_checkin(text, ordered)


def _category(text: str, lexicons: dict[str, CheckinLexicon], locale: str = "en") -> str:
    return _read(text, lexicons, locale).category or "none"


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
def test_numbered_options_pick_their_answer(
    lexicons: dict[str, CheckinLexicon], text: str, expected: str
) -> None:
    # given a reply that is an option number, maybe with punctuation or emoji
    # when it is read / then it picks that option
    assert _category(text, lexicons) == expected


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
    lexicons: dict[str, CheckinLexicon], text: str, expected: str
) -> None:
    assert _category(text, lexicons) == expected


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
    lexicons: dict[str, CheckinLexicon], text: str, expected: str
) -> None:
    assert _category(text, lexicons) == expected


@pytest.mark.parametrize(
    "text",
    [
        "he wasn't that drunk",
        "he didn't drink much",
        "she didn't drink a lot tonight",
    ],
)
def test_less_than_usual_is_never_a_non_use_day(
    lexicons: dict[str, CheckinLexicon], text: str
) -> None:
    # given a reply that says "some, but less" / then it is unsure, not a day to reward
    assert _category(text, lexicons) == "unsure"


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
def test_mixed_or_hedged_reports_are_unsure(lexicons: dict[str, CheckinLexicon], text: str) -> None:
    # rewarding a use day or stepping back on a non-use day hurts; unsure is safe on both
    assert _category(text, lexicons) == "unsure"


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
        "👍",
        "what's a use day?",
        "what if he uses tomorrow?",
        "fine",
        "i think so",
    ],
)
def test_ambiguous_or_unrelated_replies_are_not_answers(
    lexicons: dict[str, CheckinLexicon], text: str
) -> None:
    # given a reply that is not an answer / then the bot must ask again, never record it
    assert _read(text, lexicons).category is None


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
    lexicons: dict[str, CheckinLexicon], text: str, category: str, window: str | None
) -> None:
    assert _read(text, lexicons) == CheckinReading(category, window)  # type: ignore[arg-type]


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
def test_spanish_comes_from_its_own_lexicon(
    lexicons: dict[str, CheckinLexicon], text: str, expected: str
) -> None:
    assert _category(text, lexicons, locale="es") == expected


def test_other_languages_are_a_fallback_for_the_contact_language(
    lexicons: dict[str, CheckinLexicon],
) -> None:
    # given an English-speaking contact who answers in Spanish
    # then Spanish reads it, because English found no answer
    assert _category("no tomó nada", lexicons, locale="en") == "non_use"
    # and when English reads "alcohol" as use but Spanish knows "nada de" turns it around
    assert _category("nada de alcohol hoy", lexicons, locale="en") == "unsure"
    # while a Spanish contact gets the Spanish reading without English interfering
    assert _category("nada de alcohol hoy", lexicons, locale="es") == "non_use"
    # and an English negation is not overruled by a language that cannot read it
    assert _category("he didn't touch any alcohol", lexicons, locale="en") == "non_use"


def test_with_no_lexicons_nothing_is_an_answer() -> None:
    assert classify_checkin("1", []) == CheckinReading(None, None)


# ------------------------------------------------------------------------------ lexicon as data


def _toy(**changes: Any) -> dict[str, Any]:
    """A tiny made-up lexicon: proves every rule comes from data, not from English in the code."""
    data: dict[str, Any] = {
        "language": "xx",
        "answers": {
            "non_use": {"options": ["1", "ek"], "phrases": ["saaf"]},
            "use": {"options": ["2", "do"], "phrases": ["piya"]},
            "unsure": {"options": ["3"], "phrases": ["pata nahi"]},
        },
        "negations": ["nahi"],
        "hedges": ["shayad"],
        "window": {"wish": ["chahta ... badalna"]},
    }
    data.update(changes)
    return data


def test_a_new_language_is_only_data() -> None:
    # given a lexicon for a language the code has never heard of
    lex = load_checkin_lexicon(_toy(), "xx")
    # then options, phrases, negation, hedges, longest match and windows all work from its words
    assert classify_checkin("ek!", [lex]).category == "non_use"
    assert classify_checkin("piya", [lex]).category == "use"
    assert classify_checkin("nahi piya", [lex]).category == "non_use"
    assert classify_checkin("pata nahi", [lex]).category == "unsure"
    assert classify_checkin("shayad piya", [lex]).category == "unsure"
    assert classify_checkin("saaf, chahta hai sab badalna", [lex]) == CheckinReading(
        "non_use", "wish"
    )
    assert classify_checkin("hello", [lex]).category is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"answrs": {}}, "unknown key 'answrs'. Did you mean 'answers'?"),
        ({"negations": ["nahi", False]}, "put the word in quotes"),
        ({"hedges": "shayad"}, "expected a list of words"),
        ({"language": "es"}, "the file says 'es' but was loaded as 'xx'"),
        ({"negation_reach": -1}, "expected a whole number from 0 to 8, found -1"),
        ({"window": {"wish": ["... badalna"]}}, "'...' must stand between two words"),
        ({"window": {"hope": ["x"]}}, "unknown key 'hope'"),
        ({"hedges": ["piya"]}, "listed twice with different meanings"),
        (
            {"answers": {"non_use": {"options": ["1"]}, "use": {"options": [1]}}},
            "option '1' is already an option for non_use",
        ),
        ({"answers": {}}, "no options are listed"),
        (
            {"answers": {"unsure": {"options": ["3"], "soft_phrases": ["hmm"]}}},
            "unsure phrases are never turned around",
        ),
    ],
)
def test_bad_lexicon_data_is_refused_with_a_sentence(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_checkin_lexicon(_toy(**changes), "xx", source="toy.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("toy.yaml: ")


def test_unquoted_numbers_in_yaml_still_work_as_options() -> None:
    # an admin writes options: [1, ek] without quotes; YAML makes 1 a number
    data = _toy(answers={"non_use": {"options": [1, "ek"]}, "use": {"options": [2]}})
    assert classify_checkin("1", [load_checkin_lexicon(data, "xx")]).category == "non_use"


# ------------------------------------------------------------------------------ the corpus


def _corpus() -> list[dict[str, Any]]:
    return list(_yaml(CORPUS))


def test_corpus_is_big_and_balanced_enough_to_mean_something() -> None:
    rows = _corpus()
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == set(LABELS)
    assert all(labels[c] >= 40 for c in ("non_use", "use", "unsure")) and labels["none"] >= 30
    assert sum(1 for r in rows if r.get("window")) >= 12
    assert sum(1 for r in rows if r.get("lang") == "es") >= 30
    assert len(rows) >= 180


def test_corpus_accuracy(lexicons: dict[str, CheckinLexicon]) -> None:
    # given every labeled reply / when each is read as its writer's contact would be
    rows = _corpus()
    confusion: Counter[tuple[str, str]] = Counter()
    window_misses: list[str] = []
    misses: list[str] = []
    for row in rows:
        reading = _read(row["text"], lexicons, row.get("lang", "en"))
        got = reading.category or "none"
        confusion[row["label"], got] += 1
        if got != row["label"]:
            misses.append(f"  {row['label']:>7} read as {got:<7} {row['text']!r}")
        if reading.window != row.get("window"):
            window_misses.append(
                f"  window {row.get('window')} read as {reading.window}: {row['text']!r}"
            )
    total = sum(confusion.values())
    correct = sum(confusion[c, c] for c in LABELS)
    print(f"\ncheck-in corpus: {total} replies, accuracy {correct / total:.3f}")
    for label in LABELS:
        n = sum(confusion[label, g] for g in LABELS)
        print(f"  {label:>7}: {confusion[label, label]}/{n} = {confusion[label, label] / n:.3f}")
    print("  confusion (rows = label, columns = read as):")
    print("  " + " " * 8 + "".join(f"{g:>9}" for g in LABELS))
    for label in LABELS:
        print(f"  {label:>8}" + "".join(f"{confusion[label, g]:>9}" for g in LABELS))
    windows = sum(1 for r in rows if r.get("window"))
    print(f"  windows: {len(window_misses)} wrong of {total} replies ({windows} labeled)")
    print("\n".join(misses + window_misses))
    # then the dangerous errors never happen, and most replies are understood
    assert confusion["use", "non_use"] == 0, "a use day would be rewarded"
    assert confusion["non_use", "use"] == 0, "a non-use day would get a step back"
    assert confusion["none", "use"] == 0 and confusion["none", "non_use"] == 0, (
        "an ambiguous reply would be recorded as use or non-use"
    )
    assert correct / total >= 0.90
    assert len(window_misses) <= windows // 4
