"""The labelled crisis corpora: every emergency caught, few false alarms, figures printed.

`.venv/bin/pytest -q -s tests/test_crisis_corpus.py -k figures` prints per-category, per-tier and
per-language recall and precision for the development part (the lexicons are tuned on it) and for
the held-out part (written before the lexicons were built, never tuned on).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.settings import REPO_ROOT
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding

DATA = Path(__file__).resolve().parent / "data"
DEVELOPMENT = DATA / "crisis_corpus.yaml"
HELD_OUT = DATA / "crisis_corpus_heldout.yaml"
BLIND = DATA / "crisis_corpus_blind.yaml"  # the second round's held-out set (issue 11)
TIERS = ("emergency", "distress", "mention", "none")
CATEGORIES = ("overdose", "suicide", "violence", "child")
ALARMS = ("emergency", "distress")  # what a family notices: a hotline reply, a pause, an alert


@dataclass(frozen=True)
class Row:
    text: str
    tier: str
    category: str | None
    lang: str
    got_tier: str
    got_category: str | None


def rows(path: Path, understanding: Understanding) -> list[Row]:
    out = []
    for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
        reading = understanding.crisis(m["text"])
        category = reading.category if reading.tier in ("emergency", "mention") else None
        out.append(Row(m["text"], m["tier"], m.get("category"), m["lang"], reading.tier, category))
    return out


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    understanding, problems = load_understanding(REPO_ROOT / "messages")
    assert understanding is not None, "\n".join(map(str, problems))
    return understanding


@pytest.fixture(scope="module")
def development(understanding: Understanding) -> list[Row]:
    return rows(DEVELOPMENT, understanding)


@pytest.fixture(scope="module")
def held_out(understanding: Understanding) -> list[Row]:
    return rows(HELD_OUT, understanding)


@pytest.fixture(scope="module")
def blind(understanding: Understanding) -> list[Row]:
    return rows(BLIND, understanding)


def ratio(a: int, b: int) -> str:
    return f"{a}/{b} ({a / b:.1%})" if b else "0/0"


def figures(name: str, data: list[Row]) -> str:
    lines = [f"== {name}: {len(data)} messages"]
    for lang in ("all", "en", "es"):
        part = [r for r in data if lang in ("all", r.lang)]
        emergencies = [r for r in part if r.tier == "emergency"]
        negatives = [r for r in part if r.tier in ("mention", "none")]
        caught = sum(r.got_tier == "emergency" for r in emergencies)
        alarms = sum(r.got_tier in ALARMS for r in negatives)
        lines.append(
            f"  [{lang}] emergency recall {ratio(caught, len(emergencies))}; false alarms on "
            f"{len(negatives)} negatives (mention, none) {ratio(alarms, len(negatives))}"
        )
    lines.append("  per tier (recall = labelled X read as X; precision = read as X and labelled X)")
    for tier in TIERS:
        labelled = [r for r in data if r.tier == tier]
        read = [r for r in data if r.got_tier == tier]
        hits = sum(r.got_tier == tier for r in labelled)
        lines.append(
            f"    {tier:<9} recall {ratio(hits, len(labelled)):<18} "
            f"precision {ratio(sum(r.tier == tier for r in read), len(read))}"
        )
    lines.append("  per category of emergencies (right category among emergencies)")
    emergencies = [r for r in data if r.tier == "emergency"]
    for category in CATEGORIES:
        labelled = [r for r in emergencies if r.category == category]
        read = [r for r in data if r.got_tier == "emergency" and r.got_category == category]
        hits = sum(r.got_tier == "emergency" and r.got_category == category for r in labelled)
        right = sum(r.tier == "emergency" and r.category == category for r in read)
        lines.append(
            f"    {category:<9} recall {ratio(hits, len(labelled)):<18} precision "
            f"{ratio(right, len(read))}"
        )
    confusion = Counter((r.tier, r.got_tier) for r in data)
    lines.append("  confusion (rows: label, columns: read as)")
    lines.append("    " + " " * 10 + "".join(f"{t:>10}" for t in TIERS))
    for tier in TIERS:
        lines.append(f"    {tier:<10}" + "".join(f"{confusion[tier, g]:>10}" for g in TIERS))
    wrong = [r for r in data if r.got_tier != r.tier]
    lines.append(f"  {len(wrong)} messages read at another tier:")
    lines += [f"    {r.tier} read as {r.got_tier} ({r.got_category}): {r.text}" for r in wrong]
    return "\n".join(lines)


def test_figures(development: list[Row], held_out: list[Row], blind: list[Row]) -> None:
    # Shown with -s; the bounds are asserted by the tests below.
    print("\n" + figures("crisis corpus, development", development))
    print(figures("crisis corpus, held out (never tuned on)", held_out))
    print(figures("crisis corpus, second held-out round (blind on its first run only)", blind))


def test_the_development_corpus_is_wide_enough(development: list[Row]) -> None:
    assert len(development) >= 500
    negatives = [r for r in development if r.tier in ("mention", "none")]
    assert len(negatives) >= 200
    for tier in TIERS:
        for lang in ("en", "es"):
            assert sum(r.tier == tier and r.lang == lang for r in development) >= 10, (tier, lang)
    for category in CATEGORIES:
        for lang in ("en", "es"):
            n = sum(
                r.category == category and r.lang == lang and r.tier == "emergency"
                for r in development
            )
            assert n >= 10, (category, lang)


def test_every_emergency_in_the_development_corpus_is_caught(development: list[Row]) -> None:
    missed = [
        f"{r.category}/{r.lang}: {r.text}"
        for r in development
        if r.tier == "emergency" and r.got_tier != "emergency"
    ]
    assert missed == [], "emergencies read as something else (extend the lexicon):\n" + "\n".join(
        missed
    )


def test_few_false_alarms_on_the_hard_negatives(development: list[Row]) -> None:
    negatives = [r for r in development if r.tier in ("mention", "none")]
    alarms = [r.text for r in negatives if r.got_tier in ALARMS]
    assert len(alarms) <= 0.05 * len(negatives), "\n".join(alarms)


def test_emergencies_get_the_right_category(development: list[Row]) -> None:
    emergencies = [r for r in development if r.tier == "emergency"]
    right = sum(r.got_category == r.category for r in emergencies)
    assert right / len(emergencies) >= 0.95


def test_the_held_out_corpus_stays_at_least_as_good_as_first_measured(held_out: list[Row]) -> None:
    # Never tuned on: this only stops a lexicon edit from making unseen messages worse than the
    # figures docs/crisis.md reports (measured once, before any tuning could see them).
    emergencies = [r for r in held_out if r.tier == "emergency"]
    negatives = [r for r in held_out if r.tier in ("mention", "none")]
    caught = sum(r.got_tier == "emergency" for r in emergencies)
    alarms = sum(r.got_tier in ALARMS for r in negatives)
    assert caught >= HELD_OUT_FLOOR["caught"] and alarms <= HELD_OUT_FLOOR["alarms"]


def test_the_second_held_out_round_stays_fixed(blind: list[Row]) -> None:
    # First and only blind run (before this round's lexicon work): 135/151 emergencies caught,
    # 10/127 false alarms, 129/135 in the right category (docs/crisis.md). Its misses were fixed as
    # classes from NEW development messages; this keeps them fixed and bounds the alarms at 5%.
    emergencies = [r for r in blind if r.tier == "emergency"]
    negatives = [r for r in blind if r.tier in ("mention", "none")]
    missed = [r.text for r in emergencies if r.got_tier != "emergency"]
    alarms = [r.text for r in negatives if r.got_tier in ALARMS]
    assert missed == []
    assert len(alarms) <= 0.05 * len(negatives), alarms
    wrong = [r.text for r in emergencies if r.got_category != r.category]
    assert wrong == []


# First measured after tuning on the development part only: 84/88 caught, 0/60 alarms; the
# alarm floor is the 5% bound, so one unseen false alarm does not invite tuning on this file.
HELD_OUT_FLOOR = {"caught": 84, "alarms": 3}
