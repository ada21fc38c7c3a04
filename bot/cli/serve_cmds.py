"""The Procfile's processes and the cron-style pass: tick, worker, web, serve; telegram set-webhook."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from bot.app import build
from bot.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tick", help="one full pass: fire due lessons/check-ins/timeouts, then dispatch; exit"
    )
    p.add_argument("--at", help="ISO 8601 instant to act as of (default: now)")
    p.set_defaults(handler=run_tick)
    register_processes(sub)


def parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_tick(args: argparse.Namespace) -> int:
    at = parse_at(args.at)
    app = build(clock=lambda: at) if at else build()

    async def one_pass() -> dict[str, Any]:
        fired = app.runtime.fire_due(at)
        sent = await app.dispatcher.drain(at)
        await app.aclose()
        return {
            "fired": fired.fired,
            "skipped": fired.skipped,
            "timeouts": fired.timeouts,
            "sent": sent.sent,
            "retried": sent.retried,
            "held_for_quiet_hours": sent.held,
            "suppressed_opted_out": sent.suppressed,
            "failed": sent.failed,
            "waiting_without_channel": app.dispatcher.pending(),
        }

    print(json.dumps(asyncio.run(one_pass())))
    return 0


def register_processes(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="the Procfile worker: scheduler ticks and the outbox dispatcher"
    )
    p.set_defaults(handler=run_worker)
    p = sub.add_parser("web", help="the Procfile web process: the webhook app on uvicorn")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.set_defaults(handler=run_web)
    p = sub.add_parser(
        "serve", help="web app and ticks in one process (the local default, on SQLite)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=run_serve)
    p = sub.add_parser("telegram", help="Telegram commands")
    tsub = p.add_subparsers(dest="telegram_command", required=True)
    s = tsub.add_parser(
        "set-webhook",
        help="register PUBLIC_BASE_URL/webhooks/telegram with the secret (once, at deploy)",
    )
    s.set_defaults(handler=run_set_webhook)


def _logging() -> None:
    logging.getLogger().setLevel(logging.INFO)


def run_worker(args: argparse.Namespace) -> int:
    from bot.worker import run_forever

    _logging()
    asyncio.run(run_forever(build()))
    return 0


def run_web(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.app import create_app

    _logging()
    uvicorn.run(
        create_app(build()), host=args.host, port=args.port, proxy_headers=True, log_level="info"
    )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.app import create_app
    from bot.worker import Worker

    _logging()
    app = build()
    web = create_app(app)
    worker = Worker(app)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> Any:
        await worker.tick()
        worker.start()
        yield
        worker.stop()
        await app.aclose()

    web.router.lifespan_context = lifespan
    uvicorn.run(web, host=args.host, port=args.port, log_level="info")
    return 0


def run_set_webhook(args: argparse.Namespace) -> int:
    settings = Settings()
    if not settings.channel_enabled("telegram"):
        print("craftbot: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first")
        return 2
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
        print(f"craftbot: {exc}", file=sys.stderr)
        return 2
    except (
        TelegramError
    ) as exc:  # a wrong token, or the Bot API server refused: say so, no traceback
        reason = exc.message.replace(settings.telegram_bot_token, "<token>")
        print(
            f"craftbot: Telegram did not register {url}: {type(exc).__name__}: {reason}",
            file=sys.stderr,
        )
        return 1
    print(f"webhook {'set' if ok else 'NOT set'}: {url}")
    return 0 if ok else 1
