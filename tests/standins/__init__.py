"""Shared machinery for the local provider stand-ins: a uvicorn thread, fault injection,
counters."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, served instead of a real answer."""

    kind: str  # "error" | "throttle" | "hang"
    status: int = 500
    retry_after_s: float = 1.0
    hang_s: float = 2.0


class FaultPlan:
    """A thread-safe queue of faults: the next N requests get them, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def add(self, fault: Fault, n: int) -> None:
        with self._lock:
            self._queue.extend([fault] * n)

    def take(self) -> Fault | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


class StandinServer:
    """A real HTTP server on 127.0.0.1 and an ephemeral port, run by uvicorn in a background thread.

    Subclasses supply `routes()` and `fault_response()`; this base counts requests and faults,
    records accepted messages, and serves injected faults before the provider logic runs.
    Usable from pytest fixtures and from benchmarks alike: `start()`, then `url`, then `stop()`.
    """

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s  # added to every answer, to imitate a distant provider
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._arrived_ns: list[int] = []
        self._counts: Counter[str] = Counter()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("The stand-in has no URL yet: call start() first.")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> Self:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every answer waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=self.routes())
        config = uvicorn.Config(
            app,
            lifespan="off",
            ws="none",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{type(self).__name__} did not start within {timeout_s} s.")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault injection -------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next n requests with an HTTP error (500 by default)."""
        self.faults.add(Fault("error", status=status), n)

    def throttle_next(self, n: int, retry_after_s: float = 1.0) -> None:
        """Answer the next n requests with 429 and a Retry-After header."""
        self.faults.add(Fault("throttle", status=429, retry_after_s=retry_after_s), n)

    def hang_next(self, n: int, hang_s: float = 2.0) -> None:
        """Sleep hang_s before answering the next n requests (past the client's timeout), then
        500."""
        self.faults.add(Fault("hang", status=500, hang_s=hang_s), n)

    # -- records and counters --------------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """A copy of the messages the stand-in accepted, in arrival order."""
        with self._lock:
            return list(self._received)

    @property
    def arrivals(self) -> list[tuple[int, dict[str, Any]]]:
        """(monotonic ns when it arrived, message) for every accepted message, in order."""
        with self._lock:
            return list(zip(self._arrived_ns, self._received, strict=True))

    @property
    def requests(self) -> int:
        return self.count("requests")

    @property
    def faults_served(self) -> int:
        return self.count("faults")

    def count(self, name: str) -> int:
        """Counters: requests, faults, fault:error, fault:throttle, fault:hang, accepted,
        refused."""
        with self._lock:
            return self._counts[name]

    def reset(self) -> None:
        self.faults.clear()
        with self._lock:
            self._received.clear()
            self._arrived_ns.clear()
            self._counts.clear()

    def _bump(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._counts[name] += 1

    def _record(self, item: dict[str, Any]) -> None:
        with self._lock:
            self._received.append(item)
            # When it arrived, on the clock every stand-in of this process shares: the order of
            # messages across providers (a family's reply on Telegram before a staff SMS).
            self._arrived_ns.append(time.monotonic_ns())
            self._counts["accepted"] += 1

    # -- for subclasses --------------------------------------------------------------------------

    def routes(self) -> list[Any]:
        raise NotImplementedError

    def fault_response(self, fault: Fault) -> Response:
        raise NotImplementedError

    async def before(self, request: Request) -> Response | None:
        """Count the request, wait the latency, and serve an injected fault if one is due."""
        self._bump("requests")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        fault = self.faults.take()
        if fault is None:
            return None
        self._bump("faults", f"fault:{fault.kind}")
        if fault.kind == "hang":
            await asyncio.sleep(fault.hang_s)
        return self.fault_response(fault)


def retry_after_header(seconds: float) -> str:
    # Retry-After carries whole seconds; round up so a client never retries early.
    return str(max(0, int(-(-seconds // 1))))
