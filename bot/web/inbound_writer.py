"""The web process's one writer, fed by every webhook: one thread runs the inbound transactions,
several per commit."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bot.channels.base import InboundMessage
from bot.runtime.inbound import InboundResult
from bot.runtime.program_holder import ProgramHolder
from bot.runtime.runtime import Runtime

# Bounds how long the first webhook of a group waits for the others (~1.6 ms each).
MAX_PER_COMMIT = 32


class InboundWriter:
    """Webhooks queue here; one thread takes whatever is waiting and commits it in one transaction.

    SQLite lets one transaction write at a time, so 40 worker threads each with its own transaction
    only took turns, paying a thread hop, a BEGIN and a COMMIT each, and fighting over the GIL. One
    thread does the same work in order, and the webhooks that arrived while it was busy share the
    next commit. Each webhook still gets its 200 only after its own rows are committed.

    PostgreSQL writes concurrently, but a transaction of one message is mostly fixed cost (a
    BEGIN, five statements and their round trips, a COMMIT) paid under the same one interpreter
    lock: with a transaction per webhook on 40 threads, one web process held a p99 under 100 ms
    up to 100 webhooks a second; sharing transactions here, up to 400 (two processes: 600).
    Transactions of several processes lock their families in one order (`Inbound._find`), so
    they wait for each other rather than deadlock; if one fails anyway, each of its messages is
    done again alone (`Inbound.handle_many`).
    """

    def __init__(self, runtime: Runtime, program: ProgramHolder, reload_every_s: float) -> None:
        self.runtime, self.program, self.reload_every_s = runtime, program, reload_every_s
        self._waiting: list[tuple[InboundMessage, asyncio.Future[InboundResult]]] = []
        self._drain: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-writer")

    async def handle(self, inbound: InboundMessage) -> InboundResult:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[InboundResult] = loop.create_future()
        self._waiting.append((inbound, done))
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_PER_COMMIT], self._waiting[MAX_PER_COMMIT:]
            try:
                outcomes = await loop.run_in_executor(
                    self._thread, self._write, [msg for msg, _ in group]
                )
            except Exception as exc:
                # The thread pool itself failed: every webhook of the group says so.
                outcomes = [exc] * len(group)
            for (_, done), outcome in zip(group, outcomes, strict=True):
                if done.done():  # the client went away; its rows are committed all the same
                    continue
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)

    def _write(self, msgs: list[InboundMessage]) -> list[InboundResult | Exception]:
        self.program.reload_if_changed(self.reload_every_s)
        return self.runtime.handle_inbound_many(msgs)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
