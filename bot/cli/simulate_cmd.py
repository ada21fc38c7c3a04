"""`craftbot simulate FILE`: replay a transcript and report the first place it diverges."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.transcript import run_transcript


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="replay a transcript file and report the first divergence")
    p.add_argument("files", nargs="+", type=Path, help="transcript YAML file(s)")
    p.add_argument(
        "--program",
        type=Path,
        default=None,
        help="folder with flows/ and messages/ (default: the configured one)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(database_url=f"sqlite:///{tmp}/simulate.db")
            if args.program:
                settings = settings.model_copy(update={"program_dir": args.program})
            result = run_transcript(path, settings)
        if result.ok:
            print(
                f"{path}: ok ({result.steps} steps, {result.messages} bot messages, {result.days} days)"
            )
        else:
            failed += 1
            print(result.divergence, file=sys.stderr)
    return 1 if failed else 0
