"""Sending replies right after their 200: a crisis reply at once, everyday replies claimed
together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.runtime.outbox.dispatcher import Dispatcher

log = logging.getLogger(__name__)

# Everyday groups being claimed or sent at once. The dispatcher claims about 10 s of a paced
# channel's sending a call, so at most ~40 s of claimed rows wait in this process's pace: well
# inside the 120 s lease after which the worker would take a claimed row again (and send it twice).
GROUPS_IN_FLIGHT = 4


class ReplySender:
    """One claim for the everyday replies of webhooks answered at the same moment, not one per
    webhook.

    At 50 webhooks in flight a claim per webhook cost the web process about 3.7 ms of CPU a reply
    (a write transaction, a select, a thread hop each). Webhooks committed together (see
    InboundWriter) are answered together: the first of them to get here waits one turn of the event
    loop, then claims for all of them. A few groups run side by side, so a reply seldom waits for
    an earlier group's sends (a paced channel can hold those for seconds); when all are busy, the
    next group keeps gathering until one is free. The dispatcher still claims only what a paced
    channel can send soon; the rest stay queued for the worker. Crisis replies never wait here:
    they are dispatched at once, on their own.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._waiting: list[int] = []
        self._gathering: asyncio.Future[None] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._apart: set[asyncio.Task[object]] = set()

    def apart(self, sending: Coroutine[Any, Any, object]) -> None:
        """Send a webhook's replies apart from its request, which ends with its 200.

        A reply may wait seconds for its turn on a paced channel. Sent from the request (as a
        Starlette background task) it kept the whole request alive meanwhile, about 100 objects
        a reply: 1,100 replies waiting at 400 webhooks a second, which the garbage collector
        walked again and again. Apart, only the sending waits. `drain` waits for it at shutdown.
        """
        task = asyncio.get_running_loop().create_task(sending)
        self._apart.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._apart.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The rows stay in the outbox: the worker sends what the web process could not.
            log.error("sending replies failed; the worker will send them", exc_info=error)

    async def drain(self) -> None:
        """Wait for the replies being sent apart (the web app's shutdown, before it closes)."""
        while self._apart:
            await asyncio.gather(*self._apart, return_exceptions=True)

    async def send(self, crisis_ids: list[int], ids: list[int]) -> None:
        if crisis_ids:
            await self.crisis(crisis_ids)
        rest = [i for i in ids if i not in crisis_ids]
        if rest:
            await self._together(rest)

    async def crisis(self, ids: list[int]) -> int:
        """Send crisis replies at once, on their own; how many the provider took."""
        report = await self.dispatcher.dispatch(ids=ids, limit=len(ids))
        return report.sent

    async def _together(self, ids: list[int]) -> None:
        self._waiting.extend(ids)
        if self._gathering is not None and not self._gathering.done():
            await asyncio.shield(
                self._gathering
            )  # the group's first claims ours too; done when it is sent
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or loop is not self._loop:  # asyncio primitives belong to one loop
            self._loop, self._slots = loop, asyncio.Semaphore(GROUPS_IN_FLIGHT)
        gathering = self._gathering = loop.create_future()
        try:
            await asyncio.sleep(0)  # one turn: the other webhooks answered with ours add their ids
            async with self._slots:
                batch, self._waiting, self._gathering = self._waiting, [], None
                await self.dispatcher.dispatch(ids=batch, limit=len(batch))
        finally:
            if not gathering.done():
                gathering.set_result(None)
