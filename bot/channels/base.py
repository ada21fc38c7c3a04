"""The channel contract: what every adapter receives, returns and must implement."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Literal, Protocol

ChannelName = Literal["sms", "telegram", "email", "console"]
MAX_PROVIDER_ID = 255  # the dedupe key's column; a longer one is kept as its digest


def storable(text: str) -> str:
    """The text as every database can keep it: PostgreSQL refuses NUL in text, and a lone
    surrogate (what JSON's "\\ud800" decodes to) is not UTF-8 at all. NULs go, lone surrogates
    become U+FFFD; everything else, valid surrogate pairs included, is kept as it was.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@dataclass(frozen=True)
class InboundMessage:
    """One message from a family member, as every adapter hands it to the runtime.

    Every text field is made storable here, whatever adapter built it: the one place between
    a provider's bytes and the database.
    """

    channel: ChannelName
    address: str  # E.164 phone, Telegram chat id, or email address (lower-cased)
    text: str  # the words: a text, a caption, or an email's new lines ("" for media alone)
    provider_id: str  # MessageSid, update_id, Message-ID: the dedupe key
    keyword_hint: str | None = None  # e.g. Twilio OptOutType "STOP" / "START" / "HELP"
    subject: str = ""  # email: a subject of the family's own words (not "Re: ..."), else ""
    media: str | None = None  # what came besides words: "photo", "voice", "attachment", ...
    edited: bool = False  # an edit of an earlier message (only its crisis words are acted on)
    language_hint: str | None = None  # e.g. Telegram's language_code "es-MX": their app's language

    def __post_init__(self) -> None:
        for name in _INBOUND_TEXTS:
            value = getattr(self, name)
            if isinstance(value, str) and value != (clean := storable(value)):
                object.__setattr__(self, name, clean)
        if len(self.provider_id) > MAX_PROVIDER_ID:  # a Message-ID is whatever the sender wrote
            digest = hashlib.sha256(self.provider_id.encode()).hexdigest()
            object.__setattr__(self, "provider_id", f"sha256:{digest}")

    @property
    def words(self) -> str:
        """Everything the person wrote, subject first: what is stored and checked for crisis."""
        return f"{self.subject}\n\n{self.text}".strip() if self.subject else self.text


_INBOUND_TEXTS = tuple(f.name for f in fields(InboundMessage))


@dataclass(frozen=True)
class OutboundMessage:
    """One row of the outbox, ready for a provider call."""

    id: int
    channel: ChannelName
    address: str
    text: str
    subject: str | None = None  # email only
    unsubscribe_url: str | None = None  # email only (List-Unsubscribe)
    crisis: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    to_staff: bool = False  # a notice to on-call staff: sent after a family's crisis reply
    # The footer's line before the unsubscribe link, in the family's language (email.yaml)
    unsubscribe_words: str | None = None
    media: str | None = None  # what a picture sent with the words shows (the outbox's data)
    picture: bytes | None = None  # that picture as a PNG, drawn by the dispatcher before sending
    attachment: Attachment | None = None  # email only: MYDATA's file


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: its name, media type and bytes."""

    name: str
    media_type: str
    content: bytes


class SendOutcome(StrEnum):
    """The closed set of things a provider call can come to."""

    SENT = "sent"
    RETRY = "retry"  # transient: 5xx, 429, timeout, connection error
    OPTED_OUT = "opted_out"  # Twilio 21610, Telegram 403 blocked
    INVALID_ADDRESS = "invalid_address"  # the address can never receive
    REJECTED = "rejected"  # this message can never pass (too long, too large, an unknown 4xx)
    MISCONFIGURED = "misconfigured"  # bad credentials: stop the channel loudly


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    provider_id: str | None = None
    retry_after_s: float | None = None  # from Retry-After or a 429, when the provider says
    detail: str = ""


class Channel(Protocol):
    """An outbound adapter. It translates; it never decides what to say or whether to send."""

    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...
