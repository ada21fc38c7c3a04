"""Sending replies right after their 200: a crisis reply at once, everyday replies claimed together."""

from __future__ import annotations

import asyncio

from bot.runtime.dispatcher import Dispatcher

MAX_IDS_PER_CLAIM = 1000  # keeps the claim's IN (...) list well under SQLite's bound-parameter limit


class ReplySender:
    """One claim for all the everyday replies waiting at that moment, instead of one claim per webhook.

    At 50 webhooks in flight a claim per webhook cost the web process about 3.7 ms of CPU a reply
    (a write transaction, an ORM select, a thread hop each), and every webhook claimed its own rows
    however long the channel's pace would keep them waiting. Here whoever finds no claim running
    takes every id waiting; the others' ids ride along. The dispatcher still claims only what a
    paced channel can send soon; the rest stay queued for the worker, as the dispatcher intends.
    Crisis replies never wait here: they are dispatched at once, on their own.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._waiting: list[int] = []
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, crisis_ids: list[int], ids: list[int]) -> None:
        if crisis_ids:
            await self.dispatcher.dispatch(ids=crisis_ids, limit=len(crisis_ids))
        rest = [i for i in ids if i not in crisis_ids]
        if rest:
            await self._together(rest)

    async def _together(self, ids: list[int]) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a lock belongs to one event loop; tests may serve the app on a new one
            self._loop, self._lock = loop, asyncio.Lock()
        self._waiting.extend(ids)
        async with self._lock:  # while a claim runs, more ids gather for the next one
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_IDS_PER_CLAIM], self._waiting[MAX_IDS_PER_CLAIM:]
                await self.dispatcher.dispatch(ids=batch, limit=len(batch))
