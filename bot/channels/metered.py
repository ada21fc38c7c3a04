"""A channel that counts: every provider call's latency and outcome, whoever sends through it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.channels.base import Channel, ChannelName, OutboundMessage, SendResult
from bot.metrics import Metrics


class MeteredChannel:
    """Wraps an adapter; the dispatcher, the web process and the worker all send through it."""

    def __init__(self, inner: Channel, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics
        self.name: ChannelName = inner.name

    async def send(self, message: OutboundMessage) -> SendResult:
        started = time.perf_counter()
        try:
            result = await self.inner.send(message)
        except BaseException:
            self.metrics.sends.labels(self.name, "error").inc()
            raise
        finally:
            self.metrics.send_seconds.labels(self.name).observe(time.perf_counter() - started)
        self.metrics.sends.labels(self.name, result.outcome.value).inc()
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        # Anything else (a test fake's record of what it sent, the Telegram bot's username) is
        # the adapter's own.
        return getattr(self.inner, name)


def metered(channels: Mapping[str, Channel], metrics: Metrics) -> dict[str, Channel]:
    return {name: MeteredChannel(channel, metrics) for name, channel in channels.items()}
