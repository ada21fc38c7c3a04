"""`craftbot telegram poll`: try the bot with a real Telegram bot, without a public HTTPS URL.

Telegram hands updates out by long polling (getUpdates) when no webhook is set. Each one goes the
way a webhook update goes: the same parser (`parse_update`), the same runtime call (dedupe by
update id, one transaction), the same reply sender; lessons and check-ins come from worker ticks
in the same process, as with `craftbot serve`. Only TELEGRAM_BOT_TOKEN is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.app import App, build_channels
from bot.channels.base import InboundMessage
from bot.channels.telegram import ChatBlocked, TelegramBot, parse_update
from bot.cli.environment import CliError, load_settings, open_app, warn_if_nobody_on_call
from bot.cli.log_config import configure
from bot.runtime.runtime import InboundResult
from bot.web.app import WEB_RELOAD_CHECK_S
from bot.web.replies import ReplySender

log = logging.getLogger(__name__)
LONG_POLL_S = 25  # Telegram holds a getUpdates call open this long when nothing is waiting
RETRY_AFTER_NETWORK_ERROR_S = 5.0


def register(tsub: Any) -> None:
    p = tsub.add_parser(
        "poll",
        help="receive Telegram messages by long polling (no public URL needed; for trying the "
        "bot); needs only TELEGRAM_BOT_TOKEN",
    )
    p.add_argument(
        "--delete-webhook",
        action="store_true",
        help="remove the bot's webhook first (polling and a webhook cannot both receive)",
    )
    p.set_defaults(handler=run_poll)


@dataclass
class PollReport:
    updates: int = 0
    answered: int = 0
    ignored: int = 0  # not a private text message, or not readable


class Poller:
    """Fetches updates and feeds each through the webhook's inbound path; acknowledges by offset."""

    def __init__(self, app: App, telegram: TelegramBot, long_poll_s: int = LONG_POLL_S) -> None:
        self.app, self.telegram, self.long_poll_s = app, telegram, long_poll_s
        self.sender = ReplySender(app.dispatcher)
        self.offset: int | None = None
        self.report = PollReport()

    async def prepare(self, delete_webhook: bool) -> str:
        """Check the token and that no webhook takes the updates; the bot's @username."""
        try:
            name = await self.telegram.username()
            info = await self.telegram.bot.get_webhook_info()
            if info.url and not delete_webhook:
                raise CliError(
                    f"this bot has a webhook ({info.url}), and Telegram gives its messages to "
                    "the webhook only. Use another bot to try things, or pass --delete-webhook "
                    "(`craftbot telegram set-webhook` puts it back)"
                )
            if info.url:
                await self.telegram.bot.delete_webhook()
        except (InvalidToken, Forbidden) as exc:
            raise CliError(f"Telegram refused TELEGRAM_BOT_TOKEN ({exc.message})") from None
        return name

    async def once(self) -> int:
        """One getUpdates call and everything it brought; the number of updates."""
        await self.telegram.username()  # the Bot starts its connections once (getMe)
        try:
            updates = await self.telegram.bot.get_updates(
                offset=self.offset, timeout=self.long_poll_s, allowed_updates=["message"]
            )
        except Conflict as exc:
            raise CliError(
                f"Telegram says another receiver is active ({exc.message}): stop the other "
                "`craftbot telegram poll`, or the webhook"
            ) from None
        for update in updates:
            self.offset = update.update_id + 1  # acknowledged with the next call
            self.report.updates += 1
            await self.handle(update.to_dict())
        return len(updates)

    async def handle(self, payload: dict[str, Any]) -> None:
        try:
            inbound = parse_update(payload)
        except ValueError as exc:
            log.warning("Telegram update %s ignored: %s", payload.get("update_id"), exc)
            inbound = None
        if isinstance(inbound, ChatBlocked):
            runtime = self.app.runtime
            await run_in_threadpool(
                runtime.opt_out_address, "telegram", inbound.address, "blocked the bot"
            )
            inbound = None
        if inbound is None:
            self.report.ignored += 1
            return
        result = await run_in_threadpool(self._inbound, inbound)
        if not result.duplicate and result.outbox_ids:
            await self.sender.send(result.crisis_ids, result.outbox_ids)
        self.report.answered += 1

    def _inbound(self, inbound: InboundMessage) -> InboundResult:
        # What the webhook does for each update (bot/web/app.py): see an edit, then handle.
        self.app.ctx.program.reload_if_changed(WEB_RELOAD_CHECK_S)
        return self.app.runtime.handle_inbound(inbound)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            fetch = asyncio.ensure_future(self.once())
            halt = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({fetch, halt}, return_when=asyncio.FIRST_COMPLETED)
            if fetch not in done:
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                break
            halt.cancel()
            try:
                fetch.result()
            except NetworkError as exc:  # TimedOut included: Telegram or the network hiccuped
                log.warning("Telegram getUpdates failed (%s); trying again", exc.message)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_AFTER_NETWORK_ERROR_S)


def run_poll(args: argparse.Namespace) -> int:
    configure(verbose=args.verbose, service=True)
    settings = load_settings()
    if not settings.telegram_bot_token:
        raise CliError("set TELEGRAM_BOT_TOKEN first (from @BotFather); nothing else is needed")
    warn_if_nobody_on_call(settings)
    # The webhook secret is for webhooks only: polling needs the token alone.
    others = build_channels(
        settings.model_copy(update={"telegram_bot_token": "", "telegram_webhook_secret": ""})
    )
    telegram = TelegramBot(
        settings.telegram_bot_token,
        api_base_url=settings.telegram_api_base_url,
        timeout_s=settings.provider_timeout_s,
    )
    app = open_app(settings, channels={**others, "telegram": telegram})
    asyncio.run(_serve(app, telegram, args.delete_webhook))
    return 0


async def _serve(app: App, telegram: TelegramBot, delete_webhook: bool) -> None:
    from bot.worker import Worker

    poller = Poller(app, telegram)
    worker = Worker(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        name = await poller.prepare(delete_webhook)
        await worker.tick()
        worker.start()
        print(f"polling Telegram for @{name}: write to the bot in Telegram; Ctrl-C to stop")
        await poller.run(stop)
    finally:
        worker.stop()
        await app.aclose()
        log.info(
            "telegram poll: %d update(s), %d answered, %d ignored",
            poller.report.updates,
            poller.report.answered,
            poller.report.ignored,
        )
