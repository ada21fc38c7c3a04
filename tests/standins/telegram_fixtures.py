"""Pytest fixtures for Telegram adapter tests: one Bot API stand-in per module, reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.channels.telegram import TelegramBot
from tests.standins.telegram_api import TelegramStandin

CHAT = 5550123


@pytest.fixture(scope="module")
def standin() -> Iterator[TelegramStandin]:
    server = TelegramStandin().start()
    yield server
    server.stop()


@pytest.fixture
def telegram(standin: TelegramStandin) -> TelegramStandin:
    standin.reset()
    return standin


@pytest.fixture
async def bot(telegram: TelegramStandin) -> AsyncIterator[TelegramBot]:
    channel = TelegramBot(telegram.token, api_base_url=telegram.url, timeout_s=0.5)
    yield channel
    await channel.aclose()
