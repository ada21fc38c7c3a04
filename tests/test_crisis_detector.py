"""Crisis detector: the labeled corpus (recall must be 100%) and the behaviours a family would notice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.understanding.crisis import (
    CrisisLexicon,
    detect_crisis,
)
from bot.understanding.crisis_lexicon import load_crisis_lexicon, load_crisis_lexicons

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "crisis_corpus.yaml"


@pytest.fixture(scope="module")
def lexicons() -> tuple[CrisisLexicon, ...]:
    return load_crisis_lexicons(ROOT / "messages")


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))[
        "messages"
    ]
    return messages


def category_of(text: str, lexicons: tuple[CrisisLexicon, ...]) -> str:
    match = detect_crisis(text, lexicons)
    return match.category if match else "none"


# ---------------------------------------------------------------- the corpus


def test_corpus_is_big_and_varied_enough(corpus: list[dict[str, Any]]) -> None:
    crises = [m for m in corpus if m["category"] != "none"]
    kinds = Counter((m["category"], m["language"]) for m in crises)
    assert len(corpus) >= 260
    assert len(crises) >= 160
    assert sum(1 for m in crises if m["language"] == "es") >= 30
    assert len(corpus) - len(crises) >= 100
    for category in ("overdose", "suicide", "violence"):
        assert kinds[(category, "en")] >= 15 and kinds[(category, "es")] >= 10, category
    assert {m["category"] for m in corpus} == {"overdose", "suicide", "violence", "none"}


def test_every_crisis_in_the_corpus_is_detected(
    corpus: list[dict[str, Any]], lexicons: tuple[CrisisLexicon, ...]
) -> None:
    # Given every labeled crisis message, when the detector reads it, then none is missed.
    missed = [
        f"{m['category']}/{m['language']}: {m['text']}"
        for m in corpus
        if m["category"] != "none" and detect_crisis(m["text"], lexicons) is None
    ]
    assert missed == [], "crisis messages the detector missed (extend the lexicon):\n" + "\n".join(
        missed
    )


def test_corpus_figures(corpus: list[dict[str, Any]], lexicons: tuple[CrisisLexicon, ...]) -> None:
    # Prints recall, category accuracy and false-positive rate, overall and per language
    # (see them with `pytest -s`). The bounds are guard rails against a lexicon edit that turns
    # the detector into "everything is a crisis" or mixes up the replies.
    lines = []
    totals: dict[str, float] = {}
    for language in ("all", "en", "es"):
        rows = [m for m in corpus if language in ("all", m["language"])]
        crises = [m for m in rows if m["category"] != "none"]
        negatives = [m for m in rows if m["category"] == "none"]
        got = {id(m): category_of(m["text"], lexicons) for m in rows}
        found = sum(got[id(m)] != "none" for m in crises)
        right = sum(got[id(m)] == m["category"] for m in crises)
        alarms = sum(got[id(m)] != "none" for m in negatives)
        fp_rate = alarms / len(negatives) if negatives else 0.0
        lines.append(
            f"{language}: recall {found}/{len(crises)}, category accuracy {right}/{len(crises)} "
            f"({right / len(crises):.1%}), false positives {alarms}/{len(negatives)} ({fp_rate:.1%})"
        )
        if language == "all":
            totals = {"accuracy": right / len(crises), "fp_rate": fp_rate}
    print("\ncrisis corpus: " + "\n crisis corpus: ".join(lines))
    assert totals["accuracy"] >= 0.95
    assert totals["fp_rate"] <= 0.15


def test_crisis_matches_name_the_language_of_their_words(
    corpus: list[dict[str, Any]], lexicons: tuple[CrisisLexicon, ...]
) -> None:
    # Given Spanish crisis messages, then the match says "es", unless the message also carries
    # English crisis words of the same category ("i quiero morir i cant anymore"), where either is right.
    english = tuple(lx for lx in lexicons if lx.language == "en")
    spanish = [m for m in corpus if m["category"] != "none" and m["language"] == "es"]
    wrong = [
        m["text"]
        for m in spanish
        if (match := detect_crisis(m["text"], lexicons))
        and match.language != "es"
        and category_of(m["text"], english) != match.category
    ]
    assert wrong == []


# ---------------------------------------------------------------- behaviours


@pytest.mark.parametrize(
    "text",
    [
        "he's not breathing",
        "he is NOT breathing!!",
        "she isn't responding",
        "he won't wake up",
        "no respira",
        "i'm not suicidal, just tired",
    ],
)
def test_negation_never_cancels_a_match(text: str, lexicons: tuple[CrisisLexicon, ...]) -> None:
    # "not" is part of the danger, and a denial of suicidal thoughts still earns the hotline numbers.
    assert detect_crisis(text, lexicons) is not None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("hes not breething", "overdose"),
        ("shes having a siezure", "overdose"),
        ("i think its an overdoes", "overdose"),
        ("he is unresponsve", "overdose"),
        ("been having sucidal thoughts", "suicide"),
        ("i want to kil myself", "suicide"),
        ("he threatend me", "violence"),
        ("he's chocking me", "violence"),
        ("he has a kinfe", "violence"),
        ("tiene un cuchilo", "violence"),
    ],
)
def test_common_misspellings_still_match(
    text: str, category: str, lexicons: tuple[CrisisLexicon, ...]
) -> None:
    assert category_of(text, lexicons) == category


@pytest.mark.parametrize(
    "text",
    [
        "i'm cooking dinner",
        "we talked about it",
        "he picked me up from work",
        "that's odd",
        "we drove 20 kms",
        "she's willing to try",
    ],
)
def test_real_words_are_not_taken_for_typos(text: str, lexicons: tuple[CrisisLexicon, ...]) -> None:
    assert detect_crisis(text, lexicons) is None


@pytest.mark.parametrize(
    "text",
    [
        "she killed it at the interview",
        "he hit the gym",
        "dying to see him",
        "this traffic is killing me",
        "hit me up later",
        "me muero de ganas de verla",
        "mi hijo me pegó el resfriado",
    ],
)
def test_idioms_are_not_crises(text: str, lexicons: tuple[CrisisLexicon, ...]) -> None:
    assert detect_crisis(text, lexicons) is None


def test_an_idiom_does_not_hide_a_crisis_in_the_same_message(
    lexicons: tuple[CrisisLexicon, ...],
) -> None:
    match = detect_crisis("she killed it at the interview but then he hit me", lexicons)
    assert match is not None and match.category == "violence" and "hit me" in match.matched


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("no respira", "overdose"),
        ("quiero morir", "suicide"),
        ("me pegó", "violence"),
        ("my son no respira please", "overdose"),
    ],
)
def test_spanish_is_caught_whatever_the_contacts_language(
    text: str, category: str, lexicons: tuple[CrisisLexicon, ...]
) -> None:
    # Given the English lexicon first (an English contact), when a Spanish message comes in,
    # then it is still a crisis, named as Spanish.
    english_first = tuple(sorted(lexicons, key=lambda lx: lx.language != "en"))
    match = detect_crisis(text, english_first)
    assert match is not None and match.category == category and match.language == "es"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("OD", "overdose"),
        ("he od'd", "overdose"),
        ("i think she ODed", "overdose"),
        ("shes oding", "overdose"),
        ("kms", "suicide"),
        ("honestly might just kms", "suicide"),
    ],
)
def test_short_forms(text: str, category: str, lexicons: tuple[CrisisLexicon, ...]) -> None:
    assert category_of(text, lexicons) == category


def test_the_most_urgent_category_wins_and_every_word_is_reported(
    lexicons: tuple[CrisisLexicon, ...],
) -> None:
    match = detect_crisis("he has a gun and says he's going to shoot himself", lexicons)
    assert match is not None
    assert match.category == "suicide"
    assert match.matched[0] == "shoot himself" and "gun" in match.matched
    overdose = detect_crisis("she said she wants to die and took a bunch of pills", lexicons)
    assert overdose is not None and overdose.category == "overdose"
    assert "took a bunch of pills" in overdose.matched and "wants to die" in overdose.matched


def test_nothing_to_read_is_not_a_crisis(lexicons: tuple[CrisisLexicon, ...]) -> None:
    for text in ["", "   ", "?!", "👍"]:
        assert detect_crisis(text, lexicons) is None


def test_long_messages_are_not_pathological(lexicons: tuple[CrisisLexicon, ...]) -> None:
    # Many near-matches and gaps in one message: the search is bounded, so this returns promptly.
    text = (
        " ".join(["not", "he", "took", "all", "the", "my", "i", "want", "to"] * 600)
        + " not breathing"
    )
    match = detect_crisis(text, lexicons)
    assert match is not None and match.category == "overdose"


def test_detection_is_pure(lexicons: tuple[CrisisLexicon, ...]) -> None:
    first = detect_crisis("he's not breathing", lexicons)
    assert first == detect_crisis("he's not breathing", lexicons)
    assert detect_crisis("we had a nice day", lexicons) is None


# ---------------------------------------------------------------- lexicons admins write


def test_shipped_lexicons_cover_every_category_in_both_languages(
    lexicons: tuple[CrisisLexicon, ...],
) -> None:
    assert [lx.language for lx in lexicons] == ["en", "es"]
    for lexicon in lexicons:
        assert {category for category, _ in lexicon.rules} == {"overdose", "suicide", "violence"}


def test_an_admin_can_add_words_phrases_and_patterns() -> None:
    lexicon = load_crisis_lexicon(
        {
            "violence": {
                "words": ["crowbar"],
                "phrases": ["took|hid my car|phone * keys"],
                "patterns": [r"\bsmashed (?:my|the) phone\b"],
            },
            "exceptions": ["crowbar museum"],
        },
        "en",
    )
    assert category_of("he hid my phone and keys", (lexicon,)) == "violence"
    assert category_of("he took my car keys", (lexicon,)) == "violence"
    assert category_of("he smashed my phone", (lexicon,)) == "violence"
    assert category_of("he has a crowbarr", (lexicon,)) == "violence"
    assert category_of("we visited the crowbar museum", (lexicon,)) == "none"


def load_text(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "en" / "understanding"
    folder.mkdir(parents=True)
    (folder / "crisis.yaml").write_text(text, encoding="utf-8")
    load_crisis_lexicons(tmp_path)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "overdose:\n  phrases:\n    - '* not breathing'\n",
            "crisis.yaml:3:7: overdose.phrases[0]: '* not breathing' starts or ends with '*'",
        ),
        (
            "overdose:\n  words: [overdose, not breathing]\n",
            "overdose.words[1]: 'not breathing' is more than one word; put it under phrases:",
        ),
        (
            "suicide:\n  phrase: [kms]\n",
            "suicide: 'phrase' is not a list of a category (known: words, phrases, short_forms, patterns). Did you mean 'phrases'?",
        ),
        ("violense:\n  words: [knife]\n", "'violense' is not a section of a crisis lexicon"),
        (
            "violence:\n  patterns: ['(unclosed']\n",
            "violence.patterns[0]: '(unclosed' is not a valid regular expression",
        ),
        (
            "violence:\n  phrases:\n    - hit|| me\n",
            "'hit||' in 'hit|| me' has an empty or non-word choice",
        ),
        ("violence:\n  words: knife\n", "violence.words must be a list, found str 'knife'"),
        ("exceptions: [killed it]\n", "no category found"),
        ("overdose: [: bad\n", "this is not valid YAML"),
    ],
)
def test_a_broken_lexicon_says_where_and_what(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    with pytest.raises(ValueError) as error:
        load_text(tmp_path, yaml_text)
    assert expected in str(error.value)
    assert str(tmp_path / "en" / "understanding" / "crisis.yaml") in str(error.value)


def test_a_broken_lexicon_reports_every_problem_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        load_text(
            tmp_path,
            "overdose:\n  words: [a b]\n  phrases: ['* x']\nviolence:\n  patterns: ['(']\n",
        )
    assert len(str(error.value).splitlines()) == 3


def test_no_lexicon_at_all_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no \\*/understanding/crisis.yaml found"):
        load_crisis_lexicons(tmp_path)
