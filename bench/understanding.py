"""`python -m bench.understanding`: what reading one message costs (crisis tier and check-in).

Reads every message of the crisis and check-in corpora, as the engine does for an inbound message
(the crisis reading, then the check-in reading of the same parsed text), and prints the cost per
message: cold (a fresh engine, every word keyed for the first time) and warm (words seen before,
the usual case in a running service), with p50, p99 and max. Asserts nothing about time.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


def messages() -> list[str]:
    texts: list[str] = []
    for name in ("crisis_corpus.yaml", "crisis_corpus_heldout.yaml"):
        texts += [m["text"] for m in yaml.safe_load((DATA / name).read_text())["messages"]]
    for name in ("checkin_corpus.yaml", "checkin_corpus_heldout.yaml"):
        texts += [m["text"] for m in yaml.safe_load((DATA / name).read_text())]
    return texts


def fresh() -> Understanding:
    u, problems = load_understanding(REPO / "messages")
    assert u is not None, problems
    return u


def read_all(u: Understanding, texts: list[str]) -> list[float]:
    costs = []
    for text in texts:
        started = time.perf_counter()
        u.crisis(text)
        u.checkin(text)
        costs.append((time.perf_counter() - started) * 1e6)
    return costs


def line(name: str, costs: list[float]) -> str:
    ordered = sorted(costs)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"{name:<34} p50 {statistics.median(ordered):7.0f} us   p99 {p99:7.0f} us   "
        f"max {ordered[-1]:7.0f} us   mean {statistics.fmean(ordered):7.0f} us"
    )


def main() -> None:
    texts = messages()
    started = time.perf_counter()
    u = fresh()
    load_s = time.perf_counter() - started
    print(f"{len(texts)} messages; loading every lexicon took {load_s * 1000:.0f} ms")
    print(line("cold (fresh engine, new words)", read_all(u, texts)))
    # Warm: the same engine, other texts with the same words (the parse cache cleared).
    u2 = Understanding(
        u.answers,
        u.language,
        u.crisis_rules,
        u.checkin_rules,
        u.followup_rules,
        u.reflect_rules,
        u.zones,
    )
    # The machine may be shared: each message's best of five passes (parse cache cleared).
    passes = []
    for _ in range(5):
        u2._parse.cache_clear()
        passes.append(read_all(u2, texts))
    print(line("warm (words seen before), best of 5", [min(c) for c in zip(*passes, strict=True)]))
    long = " ".join(texts[:60])
    best = min(read_all(u2, [long + " " * i])[0] for i in range(5))
    print(f"one 60-message paragraph ({len(long.split())} words): {best / 1000:.1f} ms")


if __name__ == "__main__":
    main()
