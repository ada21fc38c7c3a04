"""Telegram through python-telegram-bot: the outbound adapter, the update parser, webhook setup."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import ChannelName, InboundMessage, OutboundMessage, SendOutcome, SendResult
from bot.channels.telegram_request import AiohttpRequest

log = logging.getLogger(__name__)
DEFAULT_API_BASE_URL = "https://api.telegram.org"
# What we ask Telegram to send: messages, their edits (a crisis can be added in an edit), and
# blocks (a block is how a person leaves without words).
ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member"]
CAPTION_LIMIT = 1024  # characters of a photo's caption (Bot API sendPhoto)
SECRET_TOKEN_RULE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram's wording for a chat we can never write to (BadRequest / Forbidden descriptions).
_UNREACHABLE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "chat_id is empty",
    "user is deactivated",
    "bot can't initiate conversation",
)


def _retry_seconds(exc: RetryAfter) -> float | None:
    # RetryAfter.retry_after warns (PTB 22.2 deprecation) unless PTB_TIMEDELTA is set, and we run
    # with warnings as errors: read the stored timedelta instead.
    raw: Any = getattr(exc, "_retry_after", None)
    if isinstance(raw, timedelta):
        return raw.total_seconds()
    if isinstance(raw, int | float):
        return float(raw)
    return None


class TelegramBot:
    """Sends Telegram messages with a python-telegram-bot `Bot` (no Application, no JobQueue)."""

    name: ChannelName = "telegram"

    def __init__(
        self,
        token: str,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout_s: float = 10.0,
        max_connections: int = 64,
    ) -> None:
        if not token:
            raise ValueError("TelegramBot needs a bot token; the token given was empty.")
        self._token = token
        base = api_base_url.rstrip("/")
        self._official_api = base == DEFAULT_API_BASE_URL
        # PTB's own HTTPXRequest costs 2.3-4.4 ms of CPU a message; the aiohttp one a fraction of
        # it.
        self._request = AiohttpRequest(
            connection_pool_size=max_connections,
            read_timeout=timeout_s,
            write_timeout=timeout_s,
            connect_timeout=timeout_s,
            pool_timeout=timeout_s,
        )
        self._updates_request = AiohttpRequest(connection_pool_size=1)  # unused: we take webhooks
        # PTB appends the token to base_url, giving {base}/bot{token}/{method}.
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
            get_updates_request=self._updates_request,
        )
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None

    async def _ensure_ready(self) -> None:
        # initialize() calls getMe once, which also proves the token; later sends skip it.
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True

    async def username(self) -> str:
        """The bot's @username, from getMe: a startup check that the token works."""
        await self._ensure_ready()
        return self.bot.username

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            await self._ensure_ready()
            if message.picture and len(message.text) <= CAPTION_LIMIT:
                sent = await self.bot.send_photo(
                    chat_id=message.address, photo=message.picture, caption=message.text
                )
            else:
                if message.picture:  # words too long for a caption follow the picture
                    await self.bot.send_photo(chat_id=message.address, photo=message.picture)
                sent = await self.bot.send_message(chat_id=message.address, text=message.text)
        except TelegramError as exc:
            return self._classify(exc)
        return SendResult(SendOutcome.SENT, provider_id=str(sent.message_id))

    def _classify(self, exc: TelegramError) -> SendResult:
        # PTB puts the token into some messages (InvalidToken on initialize): never store it.
        detail = f"Telegram: {type(exc).__name__}: {exc.message}".replace(self._token, "<token>")
        lowered = exc.message.lower()
        if isinstance(exc, RetryAfter):
            return SendResult(SendOutcome.RETRY, retry_after_s=_retry_seconds(exc), detail=detail)
        if isinstance(exc, InvalidToken | EndPointNotFound):
            return SendResult(SendOutcome.MISCONFIGURED, detail=detail)
        if isinstance(exc, Forbidden):
            if any(phrase in lowered for phrase in _UNREACHABLE):
                return SendResult(SendOutcome.INVALID_ADDRESS, detail=detail)
            # "bot was blocked by the user" and kin: the family member stopped us here.
            return SendResult(SendOutcome.OPTED_OUT, detail=detail)
        if isinstance(exc, ChatMigrated):
            return SendResult(
                SendOutcome.INVALID_ADDRESS, detail=f"{detail} (new chat id {exc.new_chat_id})"
            )
        if isinstance(exc, BadRequest):
            if any(phrase in lowered for phrase in _UNREACHABLE):
                return SendResult(SendOutcome.INVALID_ADDRESS, detail=detail)
            # Another 400 (e.g. "message is too long") is about this message, not the chat: it
            # would fail the same way every time.
            return SendResult(SendOutcome.REJECTED, detail=detail)
        if isinstance(exc, TimedOut | NetworkError):
            return SendResult(SendOutcome.RETRY, detail=detail)
        return SendResult(SendOutcome.RETRY, detail=detail)

    async def set_webhook(self, url: str, secret: str, drop_pending_updates: bool = False) -> bool:
        """Register our webhook URL and secret with Telegram: run once at deploy time (the CLI)."""
        if not SECRET_TOKEN_RULE.fullmatch(secret):
            raise ValueError(
                "The Telegram webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ or -; "
                f"the one given has {len(secret)} characters and does not fit."
            )
        # api.telegram.org only calls HTTPS webhooks; a self-hosted Bot API server (--local) may
        # call plain HTTP, so only the official API gets this check.
        if self._official_api and not url.startswith("https://"):
            raise ValueError(
                f"Telegram only calls HTTPS webhooks; {url!r} does not start with https://."
            )
        await self._ensure_ready()
        return await self.bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        )

    async def aclose(self) -> None:
        # Bot.shutdown() does nothing unless initialize() ran: close the request objects ourselves
        # (each closes its aiohttp session, if it made one).
        await self._request.shutdown()
        await self._updates_request.shutdown()
        self._ready = False


@dataclass(frozen=True)
class ChatBlocked:
    """A family member blocked the bot (`my_chat_member`, status "kicked", in a private chat):
    on Telegram that is how a person says stop without words."""

    address: str
    update_id: int


TelegramUpdate = InboundMessage | ChatBlocked | None
# Updates that carry a person's message, and whether it is an edit of an earlier one. Anything
# else (channel posts, group member lists, inline queries, reactions, ...) is not a family writing.
_MESSAGE_KINDS = {"message": False, "edited_message": True}
# What a message can carry besides words, in the order it is named; its caption is its words.
_MEDIA = (
    "photo",
    "video",
    "voice",
    "video_note",
    "audio",
    "document",
    "animation",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "story",
)
# What python-telegram-bot raises on shapes it does not expect (a missing field, a string where an
# object goes, a timestamp past the platform's range, nesting past the stack).
# OSError: datetime.fromtimestamp answers a "date" near 2**62 with EOVERFLOW (errno 75), not
# OverflowError (found by tests/test_webhook_fuzz.py).
_PTB_REFUSALS = (
    *(KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, OSError),
)
_PTB_REFUSALS_DEEP = (*_PTB_REFUSALS, RecursionError)


def parse_update(payload: Any, bot: Bot | None = None) -> TelegramUpdate:
    """What a Telegram webhook update means for us: a message, a block, or None (nothing to do).

    Private chats only. A text or a caption is the message's words; media without a caption
    gives empty words and `media` naming it; an edit is marked `edited`. Commands such as /start
    pass through as text, with any "@botname" suffix removed. python-telegram-bot reads the
    update first; an update it refuses (a field missing that today's Telegram always sends, a
    type it does not expect) is read field by field instead, so what can be read is read: the
    same reader walks both, and takes only values of the type it needs.

    Raises ValueError for a payload without an integer update_id (no update at all).
    """
    update_id = payload.get("update_id") if isinstance(payload, dict) else None
    if type(update_id) is not int:
        raise ValueError("A Telegram update must be a JSON object with an integer update_id.")
    source: Any
    try:
        source = Update.de_json(dict(payload), bot)
    except _PTB_REFUSALS_DEEP as exc:
        log.warning(
            "telegram update %d: python-telegram-bot refused its shape (%s); reading its fields",
            update_id,
            type(exc).__name__,
        )
        source = payload
    return _read(source, update_id)


def _field(obj: Any, name: str) -> Any:
    """One field of a python-telegram-bot object or of the raw JSON, whichever we have."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _private_chat_id(obj: Any) -> str | None:
    chat = _field(obj, "chat")
    chat_id = _field(chat, "id") if chat is not None else None
    if _field(chat, "type") != "private" or type(chat_id) is not int:
        return None
    return str(chat_id)


def _read(update: Any, update_id: int) -> TelegramUpdate:
    member = _field(update, "my_chat_member")
    if member is not None:
        address = _private_chat_id(member)
        status = _field(_field(member, "new_chat_member"), "status")
        if address is not None and status == "kicked":
            return ChatBlocked(address, update_id)
        return None  # unblocked, or a group: the person's next /start says what they want
    kind = next((k for k in _MESSAGE_KINDS if _field(update, k) is not None), None)
    if kind is None:
        return None
    message = _field(update, kind)
    address = _private_chat_id(message)
    if address is None:
        return None
    words = next(
        (t for t in (_field(message, "text"), _field(message, "caption")) if isinstance(t, str)),
        "",
    )
    media = next((m for m in _MEDIA if _field(message, m)), None)
    text = _without_bot_name(words.strip())
    if not text and media is None:
        return None  # a service message (a pin, a title change): nothing a person said
    return InboundMessage(
        channel="telegram",
        address=address,
        text=text,
        provider_id=str(update_id),
        media=media,
        edited=_MESSAGE_KINDS[kind],
        # The language of their Telegram app: a newcomer's "/start" says nothing else about it.
        language_hint=_language_code(message),
    )


def _language_code(message: Any) -> str | None:
    """The sender's Telegram app language ("es-MX"): `from_user` once read, `from` in the JSON."""
    sender = _field(message, "from_user")
    if sender is None:
        sender = _field(message, "from")
    code = _field(sender, "language_code") if sender is not None else None
    return code if isinstance(code, str) and code else None


def _without_bot_name(text: str) -> str:
    """/start@craftbot_bot hello -> /start hello"""
    if not text.startswith("/"):
        return text
    command, _, rest = text.partition(" ")
    return (command.split("@", 1)[0] + (" " + rest if rest else "")).strip()
