"""Run the python-telegram-bot JobQueue baseline (bench/baseline_proc.py) against the Telegram
stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import Child
from bench.standins import Standins


@dataclass
class Baseline:
    jobs: int
    seconds: float  # from the shared due time to the last send answered
    sent: int
    errors: int
    setup_s: float
    rss_mb: float


def run(n: int, lesson_text: str, workdir: Path, standins: Standins) -> Baseline:
    text_file = workdir / "lesson.txt"
    text_file.write_text(lesson_text)
    standins.reset()
    child = Child(["bench.baseline_proc", str(n), standins.telegram, str(text_file)]).start()
    try:
        done = child.wait_for("done", 6 * 3600)
    finally:
        child.stop()
    return Baseline(
        n, done["seconds"], done["sent"], done["errors"], done["setup_s"], done["rss_mb"]
    )
