"""The channel contract: what every adapter receives, returns and must implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

ChannelName = Literal["sms", "telegram", "email", "console"]


@dataclass(frozen=True)
class InboundMessage:
    """One message from a family member, as every adapter hands it to the runtime."""

    channel: ChannelName
    address: str  # E.164 phone, Telegram chat id, or email address (lower-cased)
    text: str
    provider_id: str  # MessageSid, update_id, Message-ID: the dedupe key
    keyword_hint: str | None = None  # e.g. Twilio OptOutType "STOP" / "START" / "HELP"
    language_hint: str | None = None  # e.g. Telegram's language_code "es-MX": their app's language


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


class SendOutcome(StrEnum):
    """The closed set of things a provider call can come to."""

    SENT = "sent"
    RETRY = "retry"  # transient: 5xx, 429, timeout, connection error
    OPTED_OUT = "opted_out"  # Twilio 21610, Telegram 403 blocked
    INVALID_ADDRESS = "invalid_address"  # the address can never receive
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
