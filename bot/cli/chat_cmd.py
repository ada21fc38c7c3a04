"""`craftbot chat`: be a family member in the terminal, with the real engine and SQLite.

Time is virtual: it starts at 13:00 today in the chosen zone, and slash commands move it.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import Settings
from bot.simulation import Harness, Sent

HELP = """Type what a family member would write. Slash commands move time:
  /lesson    go to the next lesson        /checkin   go to the next evening check-in
  /nudge     go to the next self-care nudge
  /wait 3h   move the clock (30m, 3h, 2d)  /time      show the time
  /held      messages waiting for quiet hours to end
  /reset     start again as a new person   /quit      leave"""
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="talk to the bot in the terminal as a family member")
    p.add_argument(
        "--db",
        default="sqlite:///.craftbot/chat.db",
        help="database URL (default: a local SQLite file)",
    )
    p.add_argument(
        "--channel",
        default="sms",
        choices=("sms", "telegram", "email"),
        help="which channel's wording to use",
    )
    p.add_argument(
        "--timezone", default="America/New_York", help="the zone the virtual clock starts in"
    )
    p.set_defaults(handler=run)


def show(sent: list[Sent], zone: ZoneInfo) -> None:
    for message in sent:
        stamp = message.at.astimezone(zone).strftime("%a %H:%M")
        flag = " [crisis]" if message.kind == "crisis" else ""
        print(f"\n  bot ({stamp}){flag}: {message.text}\n")


def show_held(harness: Harness, zone: ZoneInfo) -> None:
    """Say why nothing came back: the family's quiet hours hold everything but a crisis reply."""
    held = harness.held()
    if held:
        first = min(at for _, at in held)
        print(
            f"  (quiet hours in your time zone: the bot's reply waits until {first.astimezone(zone):%a %H:%M} "
            f"here; /wait or /held to see it)"
        )


def run(args: argparse.Namespace) -> int:
    zone = ZoneInfo(args.timezone)
    if args.db.startswith("sqlite:///") and not args.db.startswith("sqlite:////"):
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=args.db, default_timezone=args.timezone)
    # 13:00 in the default zone is outside quiet hours from Hawaii to New York.
    start = datetime.combine(datetime.now(zone).date(), time(13), tzinfo=zone)
    harness = Harness(settings, start, args.channel)
    _fresh_address(harness, args.channel)
    print(
        f"craftbot chat - you are a family member texting the bot by {args.channel}. /help for commands."
    )
    print("Say hi to start.")
    try:
        while True:
            clock = harness.now.astimezone(zone).strftime("%a %d %b %H:%M")
            try:
                line = input(f"[{clock}] you> ").strip()
            except EOFError:
                print()
                return 0
            if not line:
                continue
            if not line.startswith("/"):
                show(harness.say(line), zone)
                show_held(harness, zone)
                continue
            if not command(harness, line, zone, args.channel):
                return 0
    finally:
        harness.close()


def command(harness: Harness, line: str, zone: ZoneInfo, channel: str) -> bool:
    word, _, rest = line[1:].partition(" ")
    word = word.lower()  # phones and caps lock: /QUIT and /Wait are meant too
    if word in ("quit", "exit", "q"):
        return False
    if word == "help":
        print(HELP)
    elif word in ("lesson", "checkin", "nudge"):
        try:
            show(harness.until(word), zone)
        except LookupError:
            print("  Nothing of that kind is scheduled yet: finish joining first.")
    elif word == "wait":
        match = _DURATION.match(rest.strip())
        if not match:
            print("  Say how long, for example /wait 30m, /wait 3h or /wait 2d.")
        else:
            unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
            try:
                show(harness.advance(timedelta(**{unit: int(match.group(1))})), zone)
            except OverflowError:
                print("  That is further than the clock can go; try a year or less.")
    elif word == "time":
        print(f"  It is {harness.now.astimezone(zone):%A %d %B %Y, %H:%M} ({zone.key}).")
    elif word == "held":
        held = harness.held()
        for message_id, at in held:
            print(f"  {message_id} goes at {at.astimezone(zone):%a %H:%M} (quiet hours)")
        if not held:
            print("  Nothing is waiting.")
    elif word == "reset":
        _fresh_address(harness, channel)
        print("  You are a new person now. Say hi to start.")
    else:
        print(f"  Unknown command /{word}. {HELP}")
    return True


def _fresh_address(harness: Harness, channel: str) -> str:
    """The first test address (+1 555 01xx, example.org) nobody in this database has used."""
    for n in range(100):
        address = {
            "sms": f"+155501{n:02d}",
            "email": f"family{n:02d}@example.org",
            "telegram": f"{1000 + n}",
        }[channel]
        harness.address = address
        if harness.contact() is None:
            return address
    raise SystemExit(
        "All 100 test addresses in this chat database are used: delete .craftbot/chat.db to start afresh."
    )
