"""Rate limits per channel: an even pace overall, and a minimum gap per recipient.

A provider's limit belongs to the number or the bot, so a channel's pace is shared by every
process that sends on it (`SharedPace`, one row of the database per channel); the gap per
recipient stays in the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.queries import pacing as pacing_sql

log = logging.getLogger(__name__)

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
    shared: SharedPace | None = None  # the channel's pace across processes
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
        if self.rate and self.shared is None:
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
        if self.shared is not None:
            await self.shared.wait()
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


class SharedPace:
    """`rate` sends a second on one channel, whatever the number of processes: each send books a
    slot in the channel's row (storage/queries/pacing.py); the sends ready at one moment in a
    process book theirs together, in one short transaction. If the database cannot be reached,
    the process keeps its own pace until it can."""

    def __init__(self, db: sessionmaker[Session], channel: str, rate: float) -> None:
        self.db, self.channel, self.gap = db, channel, 1.0 / rate
        self.waiting: list[asyncio.Future[float]] = []
        self.task: asyncio.Task[None] | None = None
        self._local = 0.0  # the fallback's next slot (monotonic)

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        slot: asyncio.Future[float] = loop.create_future()
        self.waiting.append(slot)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._book())
        delay = await slot
        if delay > 0:
            await asyncio.sleep(delay)

    async def _book(self) -> None:
        await asyncio.sleep(0)  # the other sends ready now book with these
        while self.waiting:
            asked, self.waiting = self.waiting, []
            began = time.monotonic()
            try:
                first, now = await asyncio.to_thread(self._book_slots, len(asked))
                # The database's `now` fell somewhere in the round trip: take its middle, so a
                # slow answer does not make this process send late, bunched with the others.
                late = (time.monotonic() - began) / 2
            except SQLAlchemyError as exc:
                log.warning(
                    "channel %s: pacing alone, the database did not answer (%s)",
                    self.channel,
                    type(exc).__name__,
                )
                now = time.monotonic()
                first = max(now, self._local)
                self._local = first + len(asked) * self.gap
                late = 0.0
            for i, slot in enumerate(asked):
                if not slot.done():
                    slot.set_result(first + i * self.gap - now - late)

    def _book_slots(self, n: int) -> tuple[float, float]:
        with self.db.begin() as db:
            return pacing_sql.book(db, self.channel, n, self.gap)
