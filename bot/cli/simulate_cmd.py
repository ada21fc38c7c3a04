"""`craftbot simulate FILE`: replay a transcript and report the first place it diverges."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.cli.environment import CliError, load_settings, program_files
from bot.program_files import ProgramFiles
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
    for path in args.files:
        if not path.is_file():
            raise CliError(f"{path}: {'is a folder' if path.is_dir() else 'there is no such file'}")
    files = program_files(args.program)
    root = files.flows_dir.parent
    if files != ProgramFiles.at(root):
        raise CliError(
            f"--program takes the folder that holds flows/ and messages/, not {args.program}"
        )
    failed = 0
    for path in args.files:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                needs_database=False,
                database_url=f"sqlite:///{tmp}/simulate.db",
                CRAFTBOT_PROGRAM_DIR=root,
                # a throwaway database gets a throwaway key: no DATA_KEYS warning for a replay
                data_keys=secrets.token_urlsafe(48),
            )
            result = run_transcript(path, settings)
        if result.ok:
            print(
                f"{path}: ok ({result.steps} steps, {result.messages} bot messages, "
                f"{result.days} days)"
            )
        else:
            failed += 1
            print(result.divergence, file=sys.stderr)
    return 1 if failed else 0
