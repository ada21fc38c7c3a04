"""Transcripts: what a family member says, how time moves, and what the bot must say and record.

One format for admins (`craftbot simulate`) and for the test suite. See docs/flows.md.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.flows.loader import parse_duration
from bot.settings import Settings
from bot.simulation import Harness, Sent
from bot.yaml_source import key_position, read_yaml, value_position

ACTIONS = ("say", "wait", "until", "at")
CHECKS = (
    "bot",
    "bot_says",
    "never_says",
    "first_line",
    "subject",
    "record",
    "checkins",
    "profile",
    "status",
    "paused",
    "hint",
)


@dataclass(frozen=True)
class TranscriptResult:
    ok: bool
    steps: int
    messages: int
    days: float
    divergence: str = ""


class TranscriptError(Exception):
    pass


def run_transcript(path: Path, settings: Settings) -> TranscriptResult:
    data, problems = read_yaml(path)
    if problems:
        return TranscriptResult(False, 0, 0, 0, str(problems[0]))
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        return TranscriptResult(False, 0, 0, 0, f"{path}:1:1: a transcript needs `steps:`, a list")
    try:
        zone = ZoneInfo(str(data.get("timezone", "America/New_York")))
    except (ZoneInfoNotFoundError, ValueError):
        line, col = value_position(data, "timezone")
        return TranscriptResult(
            False,
            0,
            0,
            0,
            f"{path}:{line}:{col}: timezone must be an IANA zone such as America/Chicago",
        )
    try:
        start = datetime.fromisoformat(str(data.get("start", "2026-03-02 10:00")))
    except ValueError:
        line, col = value_position(data, "start")
        return TranscriptResult(
            False, 0, 0, 0, f"{path}:{line}:{col}: start must look like 2026-03-02 10:00"
        )
    start = start.replace(tzinfo=zone)
    harness = Harness(
        settings.model_copy(update={"default_timezone": zone.key}),
        start,
        str(data.get("channel", "sms")),  # type: ignore[arg-type]
        str(data.get("address", "+15550123")),
    )
    count = 0
    try:
        for index, raw in enumerate(data["steps"]):
            line, col = key_position(data["steps"], index)
            try:
                count += len(_run_step(harness, raw, zone))
            except TranscriptError as exc:
                return TranscriptResult(
                    False, index, count, 0, f"{path}:{line}:{col}: step {index + 1}: {exc}"
                )
        days = (harness.now - start).total_seconds() / 86400
        return TranscriptResult(True, len(data["steps"]), count, round(days, 1))
    finally:
        harness.close()


def _run_step(h: Harness, raw: Any, zone: ZoneInfo) -> list[Sent]:
    if not isinstance(raw, Mapping):
        raise TranscriptError(f"a step must be a mapping such as `say: hi`, found {raw!r}")
    actions = [a for a in ACTIONS if a in raw]
    unknown = [k for k in raw if k not in ACTIONS and k not in CHECKS]
    if len(actions) != 1 or unknown:
        raise TranscriptError(
            f"a step needs exactly one of {', '.join(ACTIONS)} and only these checks: "
            f"{', '.join(CHECKS)}"
        )
    action = actions[0]
    value = raw[action]
    before = len(h.checkins())
    if action == "say":
        sent = h.say(str(value), raw.get("hint"))
        doing = f"say {str(value)!r}"
    elif action == "wait":
        seconds = parse_duration(value)
        if seconds is None:
            raise TranscriptError(f"wait must look like 30m, 3h or 2d, found {value!r}")
        sent = h.advance(timedelta(seconds=seconds))
        doing = f"wait {value}"
    elif action == "until":
        try:
            sent = h.until(str(value))
        except LookupError as exc:
            raise TranscriptError(str(exc)) from exc
        doing = f"until {value}"
    else:
        try:
            target = datetime.fromisoformat(str(value)).replace(tzinfo=zone)
        except ValueError:
            raise TranscriptError(f"at must look like 2026-03-05 09:00, found {value!r}") from None
        sent = h.advance_to(target)
        doing = f"at {value}"
    _check(h, raw, sent, before, doing, zone)
    return sent


def _check(
    h: Harness, raw: Mapping[str, Any], sent: list[Sent], before: int, doing: str, zone: ZoneInfo
) -> None:
    got = [s.message_id for s in sent]
    when = h.now.astimezone(zone).strftime("%a %d %b %H:%M")
    if "bot" in raw:
        wanted = [str(p) for p in (raw["bot"] or [])]
        if len(wanted) != len(got) or not all(
            fnmatch.fnmatchcase(g, w) for g, w in zip(got, wanted, strict=False)
        ):
            raise TranscriptError(
                f"after `{doing}` ({when}) the bot should send {wanted} but sent {got}"
            )
    for fragment in raw.get("bot_says", []) or []:
        if not any(str(fragment).lower() in s.text.lower() for s in sent):
            raise TranscriptError(
                f"after `{doing}` ({when}) no message said {fragment!r}; the bot said: "
                f"{[s.text for s in sent]}"
            )
    for fragment in raw.get("never_says", []) or []:
        told = [s.text for s in sent if str(fragment).lower() in f"{s.subject}\n{s.text}".lower()]
        if told:
            raise TranscriptError(f"after `{doing}` ({when}) a message said {fragment!r}: {told}")
    if "first_line" in raw:
        # What a lock screen shows: the first line of every message (fnmatch, `*` for any text).
        wrong = [
            s.text.split("\n", 1)[0]
            for s in sent
            if not fnmatch.fnmatchcase(s.text.split("\n", 1)[0], str(raw["first_line"]))
        ]
        if wrong:
            raise TranscriptError(
                f"after `{doing}` ({when}) every first line should be {raw['first_line']!r}; "
                f"these were not: {wrong}"
            )
    if "subject" in raw:
        subjects = [s.subject for s in sent if s.subject != str(raw["subject"])]
        if subjects:
            raise TranscriptError(
                f"after `{doing}` ({when}) every subject should be {raw['subject']!r}, not "
                f"{subjects}"
            )
    if "record" in raw:
        new = h.checkins()[before:]
        wanted_record = [] if raw["record"] in (None, "none") else [str(raw["record"])]
        if new != wanted_record:
            raise TranscriptError(
                f"after `{doing}` the check-ins recorded should be {wanted_record} but were {new}"
            )
    if "checkins" in raw:
        stored = h.checkins()
        if stored != [str(v) for v in raw["checkins"] or []]:
            raise TranscriptError(
                f"after `{doing}` the family's check-ins should be {raw['checkins']} but were "
                f"{stored}"
            )
    session = h.session()
    for field, value in (raw.get("profile") or {}).items():
        if session.profile.get(field) != str(value):
            raise TranscriptError(
                f"after `{doing}` profile {field} should be {value!r} but is "
                f"{session.profile.get(field)!r}"
            )
    if "status" in raw and session.status != raw["status"]:
        raise TranscriptError(
            f"after `{doing}` the status should be {raw['status']!r} but is {session.status!r}"
        )
    if "paused" in raw and session.paused_at(h.now) != bool(raw["paused"]):
        raise TranscriptError(
            f"after `{doing}` paused should be {raw['paused']} but is {session.paused_at(h.now)}"
        )
