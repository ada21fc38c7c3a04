"""`craftbot chat`: be a family member in the terminal, with the real engine and SQLite.

Time is virtual: it starts at 13:00 today in the chosen zone, and the chat's own commands move
it. They start with "/" on SMS and email. On Telegram "/start", "/stop" and "/help" are the
bot's, as in the Telegram app, so there the chat's commands start with "!" ("!" works on every
channel). Telegram messages go through the real update parser ("/start@craftbot_bot" is /start).
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.channels.base import InboundMessage
from bot.channels.telegram import parse_update
from bot.cli.environment import CliError, database_errors, load_settings
from bot.simulation import Harness, Sent

HELP = """Type what a family member would write. These commands move time:
  {p}lesson    go to the next lesson        {p}checkin   go to the next evening check-in
  {p}nudge     go to the next self-care nudge
  {p}wait 3h   move the clock (30m, 3h, 2d)  {p}time      show the time
  {p}held      what the bot started that waits for quiet hours to end
  {p}reset     start again as a new person   {p}quit      leave"""
# 13:00 in the starting zone is outside quiet hours from Hawaii to New York (docs/flows.md).
CLOCK_STARTS = time(13)
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")


def zone_arg(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an IANA time zone such as America/Chicago"
        ) from None
    return text


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
        help="which channel to be on (Telegram: /start, /stop, /help go to the bot; the chat's "
        "own commands start with !)",
    )
    p.add_argument(
        "--timezone",
        default="America/New_York",
        type=zone_arg,
        help="the zone the virtual clock starts in",
    )
    p.set_defaults(handler=run)


def prefixes(channel: str) -> tuple[str, ...]:
    """What starts a chat command (not a message to the bot) on this channel."""
    return ("!",) if channel == "telegram" else ("/", "!")


def family_zone(harness: Harness, default: ZoneInfo) -> ZoneInfo:
    """The zone the family chose when they joined, else the one the chat started in."""
    family = harness.contact()
    return family.clock.zone if family is not None and family.clock.timezone else default


def show(sent: list[Sent], zone: ZoneInfo) -> None:
    for message in sent:
        stamp = message.at.astimezone(zone).strftime("%a %H:%M")
        flag = " [crisis]" if message.kind == "crisis" else ""
        print(f"\n  bot ({stamp}){flag}: {message.text}\n")


def show_held(harness: Harness, zone: ZoneInfo) -> None:
    """Say what waits: quiet hours hold what the program starts (an answer to what you wrote goes
    at once, at any hour)."""
    held = harness.held()
    if held:
        first = min(at for _, at in held)
        print(
            f"  (quiet hours in your time zone: a message the bot started waits until "
            f"{first.astimezone(zone):%a %H:%M} here; wait or look at what is held to see it)"
        )


def run(args: argparse.Namespace) -> int:
    start_zone = ZoneInfo(args.timezone)
    if args.db.startswith("sqlite:///") and not args.db.startswith("sqlite:////"):
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        needs_database=False, database_url=args.db, default_timezone=args.timezone
    )
    start = datetime.combine(datetime.now(start_zone).date(), CLOCK_STARTS, tzinfo=start_zone)
    with database_errors(args.db):
        harness = Harness(settings, start, args.channel)
    _fresh_address(harness, args.channel)
    mark = prefixes(args.channel)[0]
    print(
        f"craftbot chat - you are a family member writing to the bot by {args.channel}. "
        f"{mark}help for commands."
    )
    if args.channel == "telegram":
        print("As in Telegram, /start, /stop and /help go to the bot; the chat's commands use !.")
    print("Say hi to start.")
    updates = itertools.count(1)
    try:
        while True:
            zone = family_zone(harness, start_zone)
            clock = harness.now.astimezone(zone).strftime("%a %d %b %H:%M")
            try:
                line = input(f"[{clock}] you> ").strip()
            except EOFError:
                print()
                return 0
            if not line:
                continue
            if line.startswith(prefixes(args.channel)):
                if not command(harness, line, zone, args.channel):
                    return 0
                continue
            text = line if args.channel != "telegram" else as_telegram(harness, line, updates)
            if text:
                show(harness.say(text), family_zone(harness, start_zone))
                show_held(harness, family_zone(harness, start_zone))
    finally:
        harness.close()


def as_telegram(harness: Harness, line: str, updates: Iterator[int]) -> str | None:
    """What the bot gets when this line is sent in a Telegram private chat (its update parser)."""
    n = next(updates)
    chat = {"id": int(harness.address), "type": "private", "first_name": "Family"}
    message: dict[str, Any] = {
        "message_id": n,
        "date": int(harness.now.timestamp()),
        "chat": chat,
        "from": {"id": int(harness.address), "is_bot": False, "first_name": "Family"},
        "text": line,
    }
    if line.startswith("/"):
        length = len(line.split()[0])
        message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    inbound = parse_update({"update_id": n, "message": message})
    return inbound.text if isinstance(inbound, InboundMessage) else None


def command(harness: Harness, line: str, zone: ZoneInfo, channel: str) -> bool:
    p = prefixes(channel)[0]
    word, _, rest = line[1:].partition(" ")
    word = word.lower()  # phones and caps lock: /QUIT and /Wait are meant too
    if word in ("quit", "exit", "q"):
        return False
    if word == "help":
        print(HELP.format(p=p))
    elif word in ("lesson", "checkin", "nudge"):
        try:
            show(harness.until(word), zone)
        except LookupError:
            print("  Nothing of that kind is scheduled yet: finish joining first.")
    elif word == "wait":
        match = _DURATION.match(rest.strip())
        if not match:
            print(f"  Say how long, for example {p}wait 30m, {p}wait 3h or {p}wait 2d.")
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
        print(f"  Unknown command {p}{word}. {HELP.format(p=p)}")
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
    raise CliError(
        "all 100 test addresses in this chat database are used: delete the --db file "
        "(.craftbot/chat.db by default) to start afresh"
    )
