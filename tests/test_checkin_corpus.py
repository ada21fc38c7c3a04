"""The labelled check-in corpora: accuracy per class and per language, and the errors that hurt.

`.venv/bin/pytest -q -s tests/test_checkin_corpus.py -k figures` prints the figures for the
development part (the lexicons are tuned on it) and for the held-out part (written before the
engine was rebuilt, never tuned on).
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
DEVELOPMENT = DATA / "checkin_corpus.yaml"
HELD_OUT = DATA / "checkin_corpus_heldout.yaml"
LABELS = ("non_use", "use", "unsure", "none")


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    lang: str
    got: str
    window: str | None
    got_window: str | None


def rows(path: Path, u: Understanding) -> list[Row]:
    out = []
    for m in yaml.safe_load(path.read_text(encoding="utf-8")):
        reading = u.checkin(m["text"])
        out.append(
            Row(
                m["text"],
                m["label"],
                m.get("lang", "en"),
                reading.category or "none",
                m.get("window"),
                reading.window,
            )
        )
    return out


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    u, problems = load_understanding(REPO_ROOT / "messages")
    assert u is not None, problems
    return u


@pytest.fixture(scope="module")
def development(understanding: Understanding) -> list[Row]:
    return rows(DEVELOPMENT, understanding)


@pytest.fixture(scope="module")
def held_out(understanding: Understanding) -> list[Row]:
    return rows(HELD_OUT, understanding)


def accuracy(data: list[Row]) -> float:
    return sum(r.got == r.label for r in data) / len(data)


def figures(name: str, data: list[Row]) -> str:
    lines = [f"== {name}: {len(data)} replies, accuracy {accuracy(data):.1%}"]
    for lang in ("en", "es"):
        part = [r for r in data if r.lang == lang]
        right = sum(r.got == r.label for r in part)
        lines.append(f"  [{lang}] {right}/{len(part)} ({right / len(part):.1%})")
    lines.append("  per class (recall; precision)")
    for label in LABELS:
        labelled = [r for r in data if r.label == label]
        read = [r for r in data if r.got == label]
        hits = sum(r.got == label for r in labelled)
        right = sum(r.label == label for r in read)
        lines.append(
            f"    {label:<8} {hits}/{len(labelled)} ({hits / max(len(labelled), 1):.1%}); "
            f"{right}/{len(read)} ({right / max(len(read), 1):.1%})"
        )
    confusion = Counter((r.label, r.got) for r in data)
    lines.append("  confusion (rows: label, columns: read as)")
    lines.append("    " + " " * 9 + "".join(f"{g:>9}" for g in LABELS))
    for label in LABELS:
        lines.append(f"    {label:<9}" + "".join(f"{confusion[label, g]:>9}" for g in LABELS))
    windows = [r for r in data if r.window or r.got_window]
    wrong_windows = sum(r.window != r.got_window for r in windows)
    lines.append(f"  windows of opportunity: {wrong_windows} wrong of {len(windows)}")
    lines += [
        f"    {r.label} read as {r.got} [{r.lang}]: {r.text}" for r in data if r.got != r.label
    ]
    return "\n".join(lines)


def harmful(data: list[Row]) -> list[str]:
    """Rewarding a use day, stepping back on a non-use day, or guessing at a reply that was no
    answer or a hedge: the errors a family feels."""
    bad = {("use", "non_use"), ("non_use", "use"), ("none", "use"), ("none", "non_use")}
    bad |= {("unsure", "use"), ("unsure", "non_use")}  # "I think he used" is a hedge, not a use
    return [f"{r.label} read as {r.got}: {r.text}" for r in data if (r.label, r.got) in bad]


def test_figures(development: list[Row], held_out: list[Row]) -> None:
    print("\n" + figures("check-in corpus, development", development))
    print(figures("check-in corpus, held out (never tuned on)", held_out))


def test_the_development_corpus_is_wide_enough(development: list[Row]) -> None:
    assert len(development) >= 400
    assert sum(r.lang == "es" for r in development) >= 150
    for label in LABELS:
        for lang in ("en", "es"):
            assert sum(r.label == label and r.lang == lang for r in development) >= 15


def test_development_accuracy_per_class_and_language(development: list[Row]) -> None:
    assert accuracy(development) >= 0.97
    for lang in ("en", "es"):
        assert accuracy([r for r in development if r.lang == lang]) >= 0.97, lang
    for label in LABELS:
        assert accuracy([r for r in development if r.label == label]) >= 0.97, label


def test_no_harmful_error_in_either_part(development: list[Row], held_out: list[Row]) -> None:
    # never a use/non-use confusion; an ambiguous reply is asked again, never guessed
    assert harmful(development) == []
    assert harmful(held_out) == []


def test_the_held_out_corpus_stays_at_least_as_good_as_first_measured(held_out: list[Row]) -> None:
    # First measured after tuning on the development part only: 114/116. A regression guard,
    # not a target: misses here are fixed by writing new development replies of their class.
    assert sum(r.got == r.label for r in held_out) >= 114
