"""What can wake the engine: a message, a scheduled trigger, or a wait that timed out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    text: str
    keyword_hint: str | None = None  # a provider's own reading, e.g. Twilio OptOutType "STOP"
    language_hint: str | None = None  # a provider's guess at their language, e.g. Telegram "es"


@dataclass(frozen=True)
class Trigger:
    kind: str  # lesson_due, checkin_due, nudge_due, followup_due


@dataclass(frozen=True)
class Timeout:
    seq: int  # the wait it belongs to; a newer wait makes it stale


Input = Message | Trigger | Timeout
