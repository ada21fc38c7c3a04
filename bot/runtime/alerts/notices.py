"""What staff are sent about an alert, and the outbox rows that carry it.

A notice says no more than staff need to act, and its first line none of it: a lock screen shows
"craftbot alert 42 (urgent). Reply ACK 42 ...", not a family's words. What the family wrote
stays in the database and the console, where only signed-in staff read it. The second line is
what to act on: what kind of alert, which family, and how to reach them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.runtime.alerts.staff import StaffMember
from bot.settings import Settings

PRIORITY = {1: "urgent", 2: "high", 3: "normal"}
CONSOLE_PATH = "/console/alerts"


@dataclass(frozen=True)
class About:
    """What a notice says of its alert (everything but the alert's id, known after insert)."""

    priority: int
    tier: str  # emergency, followup, distress, undelivered
    category: str
    contact_id: int
    channel: str
    address: str
    at: datetime
    detail: str = ""  # a follow-up's answer labels ("not_ok"), never the family's words


@dataclass(frozen=True)
class Notice:
    """An outbox row of a turn that is a notice of the alert at index `alert` of the turn's
    writes: `word(alert_id)` gives its text and email subject once the alert has its id."""

    alert: int
    stage: int
    word: Callable[[int], tuple[str, str]]


def priority_label(priority: int) -> str:
    return PRIORITY.get(priority, "normal")


def notice_text(alert_id: int, about: About, stage: int, settings: Settings) -> tuple[str, str]:
    """(text, email subject) of the notice of `stage` (0 first, 1 backup, 2... repeats)."""
    label = priority_label(about.priority)
    head = f"craftbot alert {alert_id} ({label})"
    if stage == 0:
        first = f"{head}. Reply ACK {alert_id} when you have it."
    elif stage == 1:
        minutes = _minutes(settings.alert_ack_minutes)
        first = (
            f"{head} has had no ACK for {minutes} min, so you are told as backup. "
            f"Reply ACK {alert_id} when you have it."
        )
    else:
        first = (
            f"{head} still has no ACK (notice {stage + 1}). Reply ACK {alert_id} if you have it."
        )
    lines = [first, f"{what(about)}. {_family(about, settings)}."]
    if settings.console_enabled:
        lines.append(f"Details: {settings.public_base_url.rstrip('/')}{CONSOLE_PATH}/{alert_id}")
    return "\n".join(lines), f"{head}: reply ACK {alert_id}"


def what(about: About) -> str:
    category = about.category.replace("_", " ")
    if about.tier == "emergency":
        return f"{category.capitalize()} emergency: the family got the emergency reply"
    if about.tier == "followup":
        answer = " and ".join(d.strip().replace("_", " ") for d in about.detail.split(","))
        return f"After a crisis, the family answered the follow-up: {answer or 'see console'}"
    if about.tier == "undelivered":
        return "The emergency reply could NOT be delivered to the family: reach them another way"
    return f"Distress ({category}): the family got a support reply, no danger words"


def _family(about: About, settings: Settings) -> str:
    try:
        zone = ZoneInfo(settings.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = about.at.astimezone(zone)
    return (
        f"Family #{about.contact_id} on {about.channel} {about.address}, "
        f"{local:%H:%M} {settings.default_timezone}"
    )


def _minutes(value: float) -> str:
    return f"{value:g}"


def staff_row(
    member: StaffMember, message_id: str, text: str, subject: str | None, now: datetime
) -> dict[str, Any]:
    """An outbox row to a staff address: sent at once, unpaced and through quiet hours like a
    crisis reply (the dispatcher sends a family's crisis reply before any staff notice)."""
    return {
        "contact_id": None,
        "channel": member.channel,
        "address": member.address,
        "message_id": message_id,
        "kind": "crisis",
        "text": text,
        "subject": subject if member.channel == "email" else None,
        "status": "queued",
        "not_before": now,
        "attempts": 0,
        "media": None,
        "created_at": now,
    }


def notice_id(stage: int) -> str:
    """The outbox's catalog-style id of a notice (exports and the console tell them apart)."""
    return ("staff.alert", "staff.alert_backup")[stage] if stage < 2 else "staff.alert_repeat"


def told(
    alert_id: int,
    about: About,
    stage: int,
    members: tuple[StaffMember, ...],
    settings: Settings,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The outbox rows of one notice to each member, and the `alert_notices` rows recording them
    (without `outbox_id`: the caller adds it once the outbox rows have their ids)."""
    text, subject = notice_text(alert_id, about, stage, settings)
    outbox = [staff_row(m, notice_id(stage), text, subject, now) for m in members]
    notices = [
        {
            "alert_id": alert_id,
            "channel": m.channel,
            "address": m.address,
            "stage": stage,
            "at": now,
        }
        for m in members
    ]
    return outbox, notices
