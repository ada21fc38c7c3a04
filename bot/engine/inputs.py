"""What can wake the engine: a message, a scheduled trigger, or a wait that timed out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    text: str  # the words routed: a text, a caption, an email's new lines ("" for media alone)
    keyword_hint: str | None = None  # a provider's own reading, e.g. Twilio OptOutType "STOP"
    channel: str = ""  # sms, telegram, email: some keywords count on one channel only
    subject: str = ""  # an email subject the person wrote: read for crisis words, not routed
    media: str | None = None  # a photo, a voice note, an attachment... sent with (or as) it
    edited: bool = False  # an edit of an earlier message: only crisis words in it are acted on
    language_hint: str | None = None  # a provider's guess at their language, e.g. Telegram "es"


@dataclass(frozen=True)
class Trigger:
    kind: str  # lesson_due, checkin_due, nudge_due, followup_due


@dataclass(frozen=True)
class Timeout:
    seq: int  # the wait it belongs to; a newer wait makes it stale


Input = Message | Trigger | Timeout
