"""Rate limits per channel: an even pace overall, and a minimum gap per recipient.

A provider's limit belongs to the number or the bot, so a channel's pace is shared by every
process that sends on it (`SharedPace`, one row of the database per channel); the gap per
recipient stays in the process.

A slot is a moment, not a permission: a send that wakes late for its slot (a busy event loop, a
loaded machine, the last look at its row) must not go bunched with the slots booked after it by
other processes. So a slot is used within LATE_S of its time or given up, and another is booked
(`Pace.on_time`); and slots are booked far enough apart that sends made anywhere in
[slot, slot + LATE_S], arriving up to ARRIVAL_JITTER_S later, never put more than the limit in
any one second (`slot_gap`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from storage.queries import pacing as pacing_sql

log = logging.getLogger(__name__)

# The provider counts arrivals, and arrivals jitter by a few milliseconds: a second is a bit longer
# than a second when we count sends (measured at 30/s: 32 arrivals in one second without this
# guard, 31 with it, while sends never exceeded 30: see docs/performance.md).
WINDOW_S = 1.01
# A send is checked against its slot just before its provider call (LATE_S), and whatever holds
# the process after that check (a loaded machine descheduling it) moves its arrival later still,
# which nothing can undo (ARRIVAL_JITTER_S). Both come out of one budget of a quarter second;
# a tighter check leaves more of it to what cannot be checked (a soak with the test suite
# running beside it: 32 in one second against 30 with 0.2 + 0.05).
LATE_S = 0.1  # a slot not used within this many seconds of its time is given up
ARRIVAL_JITTER_S = 0.15  # from the check to the provider's clock, on a loaded machine
MAX_LEAD_S = 1.0  # the most a slot is booked ahead of now for the booking's own time
CLOCK_AGREES_S = 0.005  # a host's wall clock this close to the database's is taken as the same


def slot_gap(rate: float) -> float:
    """Seconds between two shared slots for at most `rate` arrivals in any one second: slots
    whose sends may arrive in one window span 1 + LATE_S + ARRIVAL_JITTER_S seconds, so that
    span holds at most floor(rate) of them (30/s: a slot every 40.3 ms, 24.8 a second)."""
    most = float(int(rate)) if rate >= 1 else rate
    return (1.0 + LATE_S + ARRIVAL_JITTER_S) / most


@dataclass
class Pace:
    """A channel's pace: its shared slots (at most its rate a second, spread evenly, whatever the
    number of processes), never more than that many sends starting in any one-second window of
    this process, and a gap between two messages to one recipient (Telegram: about 1 s a chat).

    Crisis messages do not call this: they skip the queue.
    """

    per_address_s: float = 0.0
    shared: SharedPace | None = None  # the channel's slots; None: no limit on its rate
    monotonic: Callable[[], float] = time.monotonic
    _last_by_address: dict[str, float] = field(default_factory=dict)
    _starts: deque[float] = field(
        default_factory=deque
    )  # when the last `rate` sends really started

    @property
    def rate(self) -> float | None:
        """The channel's limit, sends a second (None: no limit)."""
        return self.shared.rate if self.shared is not None else None

    def reserve(self, address: str) -> float:
        """Book `address`'s next turn after its last message; how many seconds to wait for it."""
        if not self.per_address_s:
            return 0.0
        now = self.monotonic()
        start = max(now, self._last_by_address.get(address, -1e9) + self.per_address_s)
        self._last_by_address[address] = start
        if len(self._last_by_address) > 100_000:
            cutoff = now - self.per_address_s
            self._last_by_address = {a: t for a, t in self._last_by_address.items() if t > cutoff}
        return start - now

    async def wait_turn(self, address: str) -> float:
        """Wait for a slot for `address`; its time (monotonic). Check `on_time(slot)` just before
        the provider call: a slot missed by more than LATE_S must not be used."""
        delay = self.reserve(address)
        slot = self.monotonic() + delay
        if delay:
            await asyncio.sleep(delay)
        if self.shared is not None:
            slot = await self.shared.wait()
            await self._within_window(max(1, int(self.shared.rate)))
        return slot

    def on_time(self, slot: float) -> bool:
        """Whether a send may still use the slot at `slot` (see the module's note)."""
        return self.monotonic() <= slot + LATE_S

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

    def __init__(self, engine: Engine, channel: str, rate: float) -> None:
        self.engine, self.channel, self.rate, self.gap = engine, channel, rate, slot_gap(rate)
        self.waiting: list[asyncio.Future[float]] = []
        self.task: asyncio.Task[None] | None = None
        self._local = 0.0  # the fallback's next slot (monotonic)
        self._lead = 0.0  # how long the last booking took (seconds)

    async def wait(self) -> float:
        """Wait for this process's next shared slot; its time (monotonic)."""
        loop = asyncio.get_running_loop()
        booked: asyncio.Future[float] = loop.create_future()
        self.waiting.append(booked)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._book())
        slot = await booked
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return slot

    async def _book(self) -> None:
        await asyncio.sleep(0)  # the other sends ready now book with these
        while self.waiting:
            asked, self.waiting = self.waiting, []
            try:
                first = await asyncio.to_thread(self._book_slots, len(asked))
            except SQLAlchemyError as exc:
                log.warning(
                    "channel %s: pacing alone, the database did not answer (%s)",
                    self.channel,
                    type(exc).__name__,
                )
                first = max(time.monotonic(), self._local)
                self._local = first + len(asked) * self.gap
            for i, slot in enumerate(asked):
                if not slot.done():
                    slot.set_result(first + i * self.gap)

    def _book_slots(self, n: int) -> float:
        """Book `n` slots; the first, on this process's monotonic clock.

        The database's `now` fell somewhere in the transaction, timed here in the thread that
        ran it (not from before the thread was free: a wait for a thread would make this process
        send early, bunched with the others). Where this host's wall clock agrees with the
        database's (one machine, or hosts kept in step by NTP), it places `now` exactly; a
        middle-of-the-transaction guess would be off by up to half its length, and a commit
        slowed by a loaded database made processes send their slots up to that much apart from
        each other's. A wall clock that disagrees with the transaction's span falls back to the
        middle."""
        began = time.monotonic()
        with self.engine.begin() as db:
            first, now = pacing_sql.book(db, self.channel, n, self.gap, self._lead)
        ended = time.monotonic()
        # Slots start no sooner than the last booking took to come back, so a slow database
        # does not hand out slots already missed (booked again, and again).
        self._lead = min(MAX_LEAD_S, ended - began)
        at = ended + (now - time.time())  # the database's now, by the wall clock
        if not began - CLOCK_AGREES_S <= at <= ended + CLOCK_AGREES_S:
            at = (began + ended) / 2
        return at + (first - now)
