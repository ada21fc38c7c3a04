"""`craftbot understand "TEXT"`: what craftbot reads in a message, and why (for coaches)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.understanding.crisis import CrisisReading
from bot.understanding.explain import explain_checkin, explain_crisis
from bot.understanding.files import load_understanding
from bot.understanding.reading import Understanding


def register(sub: Any) -> None:
    p = sub.add_parser(
        "understand",
        help="show how a message is read: crisis tier, signs and their context, check-in answer",
        description=(
            "Reads TEXT as craftbot would and explains it: the crisis tier (emergency, distress, "
            "mention, none) with each sign found, its modifiers and the rule behind it; the "
            "check-in answer; the follow-up labels; and what the bot would do."
        ),
    )
    p.add_argument("text", nargs="+", help="the message, as a family member would send it")
    p.add_argument("--locale", default="en", help="the family's language (default: en)")
    p.add_argument("--country", default="US", help="the family's country (default: US)")
    p.add_argument(
        "--messages",
        type=Path,
        default=None,
        help="the messages/ folder to read lexicons from (default: the program's)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder = args.messages or Settings().program_dir / "messages"
    if not folder.is_dir():
        print(
            f"craftbot understand: {folder} is not a folder (use --messages DIR)", file=sys.stderr
        )
        return 2
    understanding, problems = load_understanding(folder)
    if understanding is None:
        print(f"The lexicons in {folder} have {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    text = " ".join(args.text)
    started = time.perf_counter()
    reading = understanding.crisis(text)
    took = (time.perf_counter() - started) * 1e6
    print(explain_crisis(reading))
    print(f"  would: {action(reading, args.country, args.locale)}")
    print(explain_checkin(understanding.checkin(text)))
    print(followup_line(understanding, text, args.locale))
    print(f"read in {took:.0f} microseconds (first read of this text)")
    return 0


def action(reading: CrisisReading, country: str, locale: str) -> str:
    """What the engine does with this reading (bot/engine/step.py), in one line."""
    if reading.tier == "emergency":
        reply = f"crisis.{reading.category}.{country}"
        also = (
            f" then crisis.{reading.also}.{country}"
            if reading.category == "child" and reading.also
            else ""
        )
        return (
            f"reply {reply}{also} [{locale}] at once, alert the team, pause lessons 24 h, "
            "follow up later"
        )
    if reading.tier == "distress":
        return (
            f"reply crisis.distress.{reading.category}.{country} [{locale}] at once; no pause, "
            "no alert (DistressNoted); an open question stays open"
        )
    if reading.tier == "mention":
        answer = (
            f"crisis.answer.{reading.answer}.{country} when no question is open"
            if reading.answer
            else "no special reply"
        )
        return f"no pause, no alert; the message goes on as any message; {answer}"
    return "nothing special: the message goes on as any message"


def followup_line(understanding: Understanding, text: str, locale: str) -> str:
    answer = understanding.read("followup", text, locale)
    labels = ", ".join(sorted(answer.labels)) if answer else "none (reflected, asked again)"
    reflection = understanding.reflection(text) or "none"
    return f"as a follow-up answer: {labels}; as free text: {reflection}"
