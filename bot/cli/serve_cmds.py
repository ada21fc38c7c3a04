"""The Procfile's processes and the cron-style pass: tick, worker, web, serve; telegram set-webhook."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from bot.app import build


def register(sub: Any) -> None:
    p = sub.add_parser("tick", help="one full pass: fire due lessons/check-ins/timeouts, then dispatch; exit")
    p.add_argument("--at", help="ISO 8601 instant to act as of (default: now)")
    p.set_defaults(handler=run_tick)


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
        return {"fired": fired.fired, "skipped": fired.skipped, "timeouts": fired.timeouts,
                "sent": sent.sent, "retried": sent.retried, "held_for_quiet_hours": sent.held,
                "suppressed_opted_out": sent.suppressed, "failed": sent.failed,
                "waiting_without_channel": app.dispatcher.pending()}

    print(json.dumps(asyncio.run(one_pass())))
    return 0
