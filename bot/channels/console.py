"""A channel for the terminal: `craftbot chat` and local runs with no provider accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bot.channels.base import OutboundMessage, SendOutcome, SendResult


class ConsoleChannel:
    """Hands each message to a sink (print, or a list in tests). It never fails."""

    def __init__(
        self,
        sink: Callable[[OutboundMessage], None],
        name: Literal["console", "sms", "telegram", "email"] = "console",
    ) -> None:
        self.name = name
        self._sink = sink
        self._count = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self._count += 1
        self._sink(message)
        return SendResult(SendOutcome.SENT, provider_id=f"console-{self._count}")

    async def aclose(self) -> None:
        return None
