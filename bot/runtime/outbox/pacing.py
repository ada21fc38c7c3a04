"""Rate limits per channel: an even pace overall, and a minimum gap per recipient."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# The provider counts arrivals, and arrivals jitter by a few milliseconds: a second is a bit longer
# than a second when we count sends (measured at 30/s: 32 arrivals in one second without this
# guard, 31 with it, while sends never exceeded 30: see docs/performance.md).
WINDOW_S = 1.01


@dataclass
class Pace:
    """At most `rate` sends a second, spread evenly: never more than that in any one-second window.

    `per_address_s` keeps a gap between two messages to one recipient (Telegram: about 1 s a chat).
    Crisis messages do not call this: they skip the queue.
    """

    rate: float | None  # None: no limit
    per_address_s: float = 0.0
    monotonic: Callable[[], float] = time.monotonic
    _next: float = 0.0
    _last_by_address: dict[str, float] = field(default_factory=dict)
    _starts: deque[float] = field(
        default_factory=deque
    )  # when the last `rate` sends really started

    def reserve(self, address: str) -> float:
        """Book the next slot for `address`; returns how many seconds to wait for it."""
        now = self.monotonic()
        start = now
        if self.per_address_s:
            start = max(start, self._last_by_address.get(address, -1e9) + self.per_address_s)
        if self.rate:
            start = max(start, self._next)
            self._next = start + 1.0 / self.rate
        if self.per_address_s:
            self._last_by_address[address] = start
            if len(self._last_by_address) > 100_000:
                cutoff = now - self.per_address_s
                self._last_by_address = {
                    a: t for a, t in self._last_by_address.items() if t > cutoff
                }
        return max(0.0, start - now)

    async def wait_turn(self, address: str) -> None:
        delay = self.reserve(address)
        if delay:
            await asyncio.sleep(delay)
        if self.rate:
            await self._within_window(max(1, int(self.rate)))

    async def _within_window(self, most: int) -> None:
        """Sends whose slots passed while the event loop was busy wake together; they must not
        bunch.

        At most `most` sends start in any WINDOW_S, counted from when they really start.
        """
        while True:
            now = self.monotonic()
            while self._starts and self._starts[0] <= now - WINDOW_S:
                self._starts.popleft()
            if len(self._starts) < most:
                self._starts.append(now)
                return
            await asyncio.sleep(self._starts[0] + WINDOW_S - now)
