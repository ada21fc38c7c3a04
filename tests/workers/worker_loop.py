"""One worker process for the multi-worker test: loop fire_due + dispatch until SIGTERM.

    python -m tests.workers.worker_loop DATABASE_URL SENDS_FILE BASE_ISO T0 SPEED

The clock is virtual and shared by every worker: BASE_ISO + (wall time - T0) x SPEED, so a
dispatcher lease (120 s) runs out in seconds. The channel is a stand-in provider: it appends the
outbox id to SENDS_FILE (one O_APPEND write, which a SIGKILL cannot half-do) before the send
is recorded, so a row sent twice shows up twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import datetime, timedelta

from bot.app import build
from bot.channels.base import ChannelName, OutboundMessage, SendOutcome, SendResult
from bot.settings import Settings

PROVIDER_LATENCY_S = 0.02  # a near provider; a kill then often lands mid-send


class FileProvider:
    name: ChannelName = "telegram"

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def send(self, message: OutboundMessage) -> SendResult:
        await asyncio.sleep(PROVIDER_LATENCY_S)
        os.write(self.fd, f"{message.id} {message.address}\n".encode())
        return SendResult(SendOutcome.SENT, provider_id=f"file-{os.getpid()}-{message.id}")

    async def aclose(self) -> None:
        os.close(self.fd)


async def main(
    url: str, sends: str, base: datetime, t0: float, speed: float, stop: list[int]
) -> None:
    def clock() -> datetime:
        return base + timedelta(seconds=(time.time() - t0) * speed)

    app = build(
        Settings(database_url=url),
        channels={"telegram": FileProvider(sends)},
        clock=clock,
        rate_limits=False,
    )
    print("worker ready", file=sys.stderr, flush=True)  # the test waits for this before stopping it
    while not stop:
        fired = await asyncio.to_thread(app.runtime.fire_due, None, 250)
        sent = await app.dispatcher.drain(limit=250)
        if not (fired.fired or fired.skipped or sent.sent or sent.held):
            await asyncio.sleep(0.05)
    await app.aclose()


if __name__ == "__main__":
    # Installed before the slow start-up, so a SIGTERM that arrives while the app is still being
    # built also ends in a clean exit.
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    url, sends, base, t0, speed = sys.argv[1:6]
    asyncio.run(main(url, sends, datetime.fromisoformat(base), float(t0), float(speed), stopping))
