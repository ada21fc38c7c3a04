"""A provider stand-in in its own process, stamping when each message arrived (python -m
bench.standin_proc).

Its own process, so the provider's work never shares a GIL with the code under test. Besides the
provider API it answers GET /_bench/stamps: [[monotonic seconds, address, text digest], ...] since
the last POST /_bench/reset. CLOCK_MONOTONIC is system-wide on Linux, so stamps compare across
processes. With --faults (the soak) it misbehaves as providers do, at random: 5xx, 429 with
Retry-After, a hang past the client's timeout (nothing delivered), slow answers; GET
/_bench/faults counts what it served.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import hashlib
import os
import random
import signal
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.common import say
from tests.standins import Fault
from tests.standins.telegram_api import TelegramStandin
from tests.standins.twilio_api import TwilioStandin

# When the request being handled reached the stand-in: set first thing, before any injected
# slowness, so a slow answer does not move the message's arrival later (the provider has it).
ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("arrived")
STALL_S = 0.1  # event loop lags longer than this are reported (GET /_bench/stalls)


class Stamps:
    """Arrival times and addresses, kept small: a 100k run must not hold 100k lesson texts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[float, str]] = []

    def add(self, item: dict[str, Any]) -> None:
        address = str(item.get("chat_id") or item.get("to") or "")
        with self.lock:
            self.items.append(
                (
                    ARRIVED.get(time.monotonic()),
                    address,
                    digest(item.get("text") or item.get("body")),
                )
            )

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


def digest(text: object) -> str:
    """A short fingerprint of a message's text: which outbox row arrived, without keeping texts."""
    return hashlib.blake2b(str(text or "").encode(), digest_size=8).hexdigest()


# The soak's misbehaviour, per request: (kind, probability). A hang outlasts PROVIDER_TIMEOUT_S
# and is never delivered; a slow answer delivers after a pause.
FAULTS = (("error", 0.03), ("throttle", 0.02), ("hang", 0.01), ("slow", 0.05))
HANG_S = 4.0


class _Stamped:
    """A stand-in that also stamps each arrival with the system-wide monotonic clock."""

    faulty = False

    def __init__(self) -> None:
        super().__init__()
        self.stamps = Stamps()
        self.served: dict[str, int] = {}
        self.rng = random.Random()
        self.stalls: list[tuple[float, float]] = []  # (monotonic end, seconds) of loop lags
        self._watching = False

    def _record(self, item: dict[str, Any]) -> None:
        self.stamps.add(item)

    async def _watch_loop(self) -> None:
        """Note when this process's event loop could not run (a loaded machine): arrivals
        stamped just after a stall bunch up here, whatever the senders did."""
        step = 0.02
        while True:
            before = time.monotonic()
            await asyncio.sleep(step)
            lag = time.monotonic() - before - step
            if lag > STALL_S:
                self.stalls.append((time.monotonic(), lag))

    def routes(self) -> list[Any]:
        async def faults(_: Request) -> Response:
            return JSONResponse(self.served)

        async def stalls(_: Request) -> Response:
            return JSONResponse(self.stalls)

        return [
            *self.stamps.routes(),
            Route("/_bench/faults", faults, methods=["GET"]),
            Route("/_bench/stalls", stalls, methods=["GET"]),
            *super().routes(),  # type: ignore[misc]
        ]

    async def before(self, request: Request) -> Response | None:
        ARRIVED.set(time.monotonic())
        if not self._watching:
            self._watching = True
            asyncio.get_running_loop().create_task(self._watch_loop())
        if self.faulty:
            draw = self.rng.random()
            for kind, chance in FAULTS:
                if draw < chance:
                    self.served[kind] = self.served.get(kind, 0) + 1
                    if kind == "slow":
                        await asyncio.sleep(self.rng.uniform(0.3, 1.5))
                        break
                    fault = Fault(
                        kind,
                        status=self.rng.choice((500, 502, 503)) if kind != "throttle" else 429,
                        retry_after_s=self.rng.choice((1.0, 2.0)),
                        hang_s=HANG_S,
                    )
                    if kind == "hang":
                        await asyncio.sleep(HANG_S)
                    return self.fault_response(fault)  # type: ignore[attr-defined,no-any-return]
                draw -= chance
        return await super().before(request)  # type: ignore[misc,no-any-return]


class BenchTelegram(_Stamped, TelegramStandin):
    pass


class BenchTwilio(_Stamped, TwilioStandin):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("telegram", "twilio"))
    parser.add_argument("--faults", action="store_true", help="misbehave at random (the soak)")
    args = parser.parse_args()
    # The instrument must not be starved by what it measures: on a loaded machine a stand-in
    # that gets the CPU late stamps the requests that waited for it together, a bunch no sender
    # made. Ahead of the processes under test where the system allows it (root), as is.
    with contextlib.suppress(PermissionError):
        os.nice(-10)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait below
    server = BenchTelegram() if args.kind == "telegram" else BenchTwilio()
    server.faulty = args.faults
    server.start()
    say("ready", url=server.url)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


if __name__ == "__main__":
    main()
