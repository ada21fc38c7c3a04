"""A provider stand-in in its own process, stamping when each message arrived (python -m bench.standin_proc).

Its own process, so the provider's work never shares a GIL with the code under test. Besides the
provider API it answers GET /_bench/stamps: [[monotonic seconds, address], ...] since the last
POST /_bench/reset. CLOCK_MONOTONIC is system-wide on Linux, so stamps compare across processes.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.common import say
from tests.standins.telegram_api import TelegramStandin
from tests.standins.twilio_api import TwilioStandin


class Stamps:
    """Arrival times and addresses, kept small: a 100k run must not hold 100k lesson texts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[float, str]] = []

    def add(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.items.append((time.monotonic(), str(item.get("chat_id") or item.get("to") or "")))

    def routes(self) -> list[Route]:
        async def stamps(_: Request) -> Response:
            with self.lock:
                return JSONResponse(list(self.items))

        async def reset(_: Request) -> Response:
            with self.lock:
                self.items.clear()
            return Response(status_code=204)

        return [
            Route("/_bench/stamps", stamps, methods=["GET"]),
            Route("/_bench/reset", reset, methods=["POST"]),
        ]


class _Stamped:
    """A stand-in that also stamps each arrival with the system-wide monotonic clock."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps = Stamps()

    def _record(self, item: dict[str, Any]) -> None:
        self.stamps.add(item)

    def routes(self) -> list[Any]:
        return [*self.stamps.routes(), *super().routes()]  # type: ignore[misc]


class BenchTelegram(_Stamped, TelegramStandin):
    pass


class BenchTwilio(_Stamped, TwilioStandin):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("telegram", "twilio"))
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait below
    server = (BenchTelegram() if args.kind == "telegram" else BenchTwilio()).start()
    say("ready", url=server.url)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


if __name__ == "__main__":
    main()
