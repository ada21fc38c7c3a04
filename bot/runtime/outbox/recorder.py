"""The dispatcher's two database calls made while it sends, each shared by the sends of a moment.

`Recorder`: each send is recorded as soon as its outcome is known, in one transaction with
whatever else finished while the last one was written (at most RECORD_EVERY), so a crash re-sends
at most what was in flight at that moment, never a batch. A database error (SQLite busy, a
dropped connection) is retried until it passes: the outcome is never lost and never crashes the
worker (until then the rows stay claimed under their lease).

`LastLook`: just before an everyday message is sent (after its pace), may it still go
(bot/runtime/outbox/last_look.py)? The sends ready at the same moment share one read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.channels.base import OutboundMessage, SendResult
from bot.runtime.outbox.last_look import NotSent

log = logging.getLogger(__name__)
RECORD_EVERY = 250  # outcomes recorded per transaction (on SQLite each holds the write lock ~12 ms)
RETRY_FIRST_S, RETRY_MOST_S = 0.05, 5.0

# None: not sent (the worker is stopping); NotSent: the last look kept it back
Outcome = tuple[OutboundMessage, SendResult | NotSent | None]


class Recorder:
    def __init__(self, write: Callable[[list[Outcome]], None]) -> None:
        self.write = write
        self.pending: list[Outcome] = []
        self.task: asyncio.Task[None] | None = None
        self.pieces: list[int] = []  # how many outcomes each transaction wrote

    def add(self, message: OutboundMessage, result: SendResult | NotSent | None) -> None:
        self.pending.append((message, result))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self) -> None:
        """Wait until every outcome added so far is written."""
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)

    async def _run(self) -> None:
        while self.pending:
            piece, self.pending = self.pending[:RECORD_EVERY], self.pending[RECORD_EVERY:]
            await self._write(piece)
            self.pieces.append(len(piece))

    async def _write(self, piece: list[Outcome]) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                await asyncio.to_thread(self.write, piece)
                return
            except SQLAlchemyError as exc:
                log.warning(
                    "recording %d send outcomes failed (%s); trying again in %.2f s",
                    len(piece),
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MOST_S)


class LastLook:
    def __init__(self, read: Callable[[list[int]], dict[int, NotSent | None]]) -> None:
        self.read = read
        self.waiting: dict[int, asyncio.Future[NotSent | None]] = {}
        self.task: asyncio.Task[None] | None = None

    async def ask(self, row_id: int) -> NotSent | None:
        """None: send it now; else why not."""
        loop = asyncio.get_running_loop()
        answer = self.waiting[row_id] = loop.create_future()
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())
        return await answer

    async def _run(self) -> None:
        await asyncio.sleep(0)  # the other sends ready now ask too
        while self.waiting:
            asked, self.waiting = self.waiting, {}
            try:
                found = await asyncio.to_thread(self.read, list(asked))
            except SQLAlchemyError as exc:  # cannot tell: never send blind, give it back
                log.warning("could not look at claimed rows before sending (%s)", exc)
                found = {row_id: NotSent("unknown") for row_id in asked}
            for row_id, answer in asked.items():
                if not answer.done():
                    answer.set_result(found.get(row_id, NotSent("cancelled")))
