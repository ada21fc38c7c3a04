"""Telegram through python-telegram-bot: the outbound adapter, the update parser, webhook setup."""

from __future__ import annotations

import asyncio
import re
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

DEFAULT_API_BASE_URL = "https://api.telegram.org"
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
        # PTB's own HTTPXRequest costs 2.3-4.4 ms of CPU a message; the aiohttp one a fraction of it.
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
            # Another 400 (e.g. text too long) is about this message, not the chat; the contract
            # has no "rejected" outcome, so the dispatcher's attempt limit ends it.
            return SendResult(SendOutcome.RETRY, detail=detail)
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
            allowed_updates=["message"],
            drop_pending_updates=drop_pending_updates,
        )

    async def aclose(self) -> None:
        # Bot.shutdown() does nothing unless initialize() ran: close the request objects ourselves
        # (each closes its aiohttp session, if it made one).
        await self._request.shutdown()
        await self._updates_request.shutdown()
        self._ready = False


def parse_update(payload: dict[str, Any], bot: Bot | None = None) -> InboundMessage | None:
    """The family member's text from a Telegram webhook update, or None for anything else.

    Only new text messages in private chats count: edits, group chatter, stickers and photos
    give None (acknowledge and ignore). Commands such as /start and /stop pass through as text,
    with any "@botname" suffix removed. Raises ValueError for a payload that is not an Update.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise ValueError("A Telegram update must be a JSON object with an integer update_id.")
    try:
        update = Update.de_json(dict(payload), bot)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The Telegram update {payload.get('update_id')} could not be read: {exc!r}."
        ) from exc
    message = update.message
    if message is None or message.text is None or message.chat.type != "private":
        return None
    text = message.text.strip()
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        text = (command.split("@", 1)[0] + (" " + rest if rest else "")).strip()
    if not text:
        return None
    return InboundMessage(
        channel="telegram",
        address=str(message.chat.id),
        text=text,
        provider_id=str(update.update_id),
        # The language of their Telegram app: a newcomer's "/start" says nothing else about it.
        language_hint=message.from_user.language_code if message.from_user else None,
    )
