"""The Procfile's processes and the cron-style pass: tick, worker, web, serve; telegram
set-webhook."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from bot.cli import telegram_poll
from bot.cli.environment import (
    CliError,
    load_settings,
    open_app,
    warn_if_nobody_on_call,
)
from bot.cli.log_config import configure
from bot.process import settle_heap

log = logging.getLogger("craftbot")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tick", help="one full pass: fire due lessons/check-ins/timeouts, then dispatch; exit"
    )
    p.add_argument(
        "--at", type=instant, help="ISO 8601 instant to act as of, such as 2026-03-02T14:00Z"
    )
    p.set_defaults(handler=run_tick)
    register_processes(sub)


def parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def instant(text: str) -> datetime:
    try:
        moment = parse_at(text)
    except ValueError:
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 instant such as 2026-03-02T14:00Z"
        )
    return moment


def run_tick(args: argparse.Namespace) -> int:
    at: datetime | None = args.at
    settings = load_settings()
    app = open_app(settings, clock=lambda: at) if at else open_app(settings)

    async def one_pass() -> dict[str, Any]:
        fired = app.runtime.fire_due(at)
        sent = await app.dispatcher.drain(at)
        erased = app.runtime.erase_expired(at)
        await app.aclose()
        return {
            "fired": fired.fired,
            "skipped": fired.skipped,
            "timeouts": fired.timeouts,
            "alert_notices_escalated": fired.escalated,
            "sent": sent.sent,
            "retried": sent.retried,
            "held_for_quiet_hours": sent.held,
            "suppressed_opted_out": sent.suppressed,
            "failed": sent.failed,
            "waiting_without_channel": app.dispatcher.pending(),
            "erased_past_retention": erased,
        }

    print(json.dumps(asyncio.run(one_pass())))
    return 0


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a port number such as 8000 (--port, or PORT)"
        )
    return port


def register_processes(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="the Procfile worker: scheduler ticks and the outbox dispatcher"
    )
    p.set_defaults(handler=run_worker)
    p = sub.add_parser("web", help="the Procfile web process: the webhook app on uvicorn")
    p.add_argument("--host", default="0.0.0.0")
    # PORT is read when `web` runs, not when any command starts: a bad PORT ("$PORT" unexpanded)
    # broke every craftbot command with a traceback.
    p.add_argument("--port", type=port_number, default=os.environ.get("PORT", "8000"))
    p.set_defaults(handler=run_web)
    p = sub.add_parser(
        "serve", help="web app and ticks in one process (the local default, on SQLite)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=8000)
    p.set_defaults(handler=run_serve)
    p = sub.add_parser("telegram", help="Telegram commands")
    tsub = p.add_subparsers(dest="telegram_command", required=True)
    s = tsub.add_parser(
        "set-webhook",
        help="register PUBLIC_BASE_URL/webhooks/telegram with the secret (once, at deploy)",
    )
    s.set_defaults(handler=run_set_webhook)
    telegram_poll.register(tsub)


def _logging(args: argparse.Namespace) -> None:
    configure(verbose=args.verbose, service=True)


def run_worker(args: argparse.Namespace) -> int:
    from bot.worker import run_forever

    _logging(args)
    settings = load_settings()
    warn_if_nobody_on_call(settings)
    app = open_app(settings)
    settle_heap()
    asyncio.run(run_forever(app))
    return 0


def run_web(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.app import create_app

    _logging(args)
    settings = load_settings()
    warn_if_nobody_on_call(settings)
    web = create_app(open_app(settings))
    settle_heap()
    uvicorn.run(
        web,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_level="info",
        log_config=None,  # uvicorn's lines go through ours: redacted, and JSON on request
    )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.app import create_app
    from bot.worker import Worker

    _logging(args)
    settings = load_settings()
    warn_if_nobody_on_call(settings)
    app = open_app(settings)
    web = create_app(app)
    worker = Worker(app)
    settle_heap()

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> Any:
        await worker.tick()
        worker.start()
        yield
        worker.stop()
        await app.aclose()

    web.router.lifespan_context = lifespan
    uvicorn.run(web, host=args.host, port=args.port, log_level="info", log_config=None)
    return 0


def run_set_webhook(args: argparse.Namespace) -> int:
    settings = load_settings(needs_database=False)
    if not settings.channel_enabled("telegram"):
        raise CliError("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first")
    from bot.channels.telegram import TelegramBot

    bot = TelegramBot(settings.telegram_bot_token, api_base_url=settings.telegram_api_base_url)
    url = f"{settings.public_base_url.rstrip('/')}/webhooks/telegram"

    async def register_hook() -> bool:
        try:
            return await bot.set_webhook(url, settings.telegram_webhook_secret)
        finally:
            await bot.aclose()

    from telegram.error import TelegramError

    try:
        ok = asyncio.run(register_hook())
    except ValueError as exc:  # a secret Telegram would refuse, or plain HTTP on the official API
        raise CliError(str(exc)) from None
    except TelegramError as exc:
        # A wrong token, or the Bot API server refused: say so, no traceback.
        reason = exc.message.replace(settings.telegram_bot_token, "<token>")
        raise CliError(f"Telegram did not register {url}: {type(exc).__name__}: {reason}") from None
    print(f"webhook {'set' if ok else 'NOT set'}: {url}")
    return 0 if ok else 1
