"""`craftbot telegram poll`: updates fetched with getUpdates go the webhook's way (parser, runtime,
reply sender), are acknowledged by offset, and a webhook in the way is said, not silently removed.

Against the Telegram Bot API stand-in (tests/standins/telegram_api.py) with the real PTB Bot.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, build
from bot.catalog.render import Audience, render
from bot.channels.telegram import TelegramBot
from bot.cli.environment import CliError
from bot.cli.telegram_poll import Poller
from bot.settings import REPO_ROOT, Settings
from storage import models as m
from tests.standins.telegram_api import TelegramStandin, text_update
from tests.test_tick_cli import zone_at_midday

CHAT = 5550142
# Replies wait for quiet hours to end: run the bot's clock at midday in its zone.
MIDDAY = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York, the default zone


@pytest.fixture
async def polling(telegram: TelegramStandin, tmp_path: Path) -> AsyncIterator[tuple[App, Poller]]:
    bot = TelegramBot(telegram.token, api_base_url=telegram.url, timeout_s=2)
    app = build(
        Settings(database_url=f"sqlite:///{tmp_path}/poll.db"),
        channels={"telegram": bot},
        clock=lambda: MIDDAY,
    )
    poller = Poller(app, bot, long_poll_s=1)
    try:
        yield app, poller
    finally:
        await app.aclose()


def sent_to(telegram: TelegramStandin, chat: int) -> list[str]:
    return [r["text"] for r in telegram.received if r["chat_id"] == str(chat)]


def contacts(app: App) -> int:
    with app.ctx.db() as db:
        return db.scalar(select(func.count()).select_from(m.Contact)) or 0


async def test_a_message_fetched_by_polling_is_answered_like_a_webhook(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    app, poller = polling
    # given a person who writes /start to the bot in Telegram
    telegram.push_update(text_update(7001, CHAT, "/start"))
    # when the poller fetches updates once
    assert await poller.once() == 1
    # then they get the consent question, as through the webhook, and are a contact on Telegram
    consent = render(
        app.ctx.program.current.catalogs,
        "onboarding.consent",
        Audience("telegram", "en", {}),
        app.settings.org_placeholders(),
    )
    assert sent_to(telegram, CHAT) == [consent]
    with app.ctx.db() as db:
        contact = db.scalars(select(m.Contact)).one()
    assert (contact.channel, contact.address, contact.status) == (
        "telegram",
        str(CHAT),
        "onboarding",
    )
    # and the next call acknowledges the update, so Telegram drops it
    assert await poller.once() == 0
    assert telegram.offsets[-1] == 7002
    assert telegram.pending_updates() == 0


async def test_an_update_seen_twice_is_answered_once(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    app, poller = polling
    telegram.push_update(text_update(7101, CHAT, "hi"))
    await poller.once()
    await poller.once()  # acknowledged
    # when Telegram hands the same update out again (say, after a restart lost the offset)
    poller.offset = None
    telegram.push_update(text_update(7101, CHAT, "hi"))
    await poller.once()
    # then it is recognised by its update id and answered once
    assert len(sent_to(telegram, CHAT)) == 1
    assert poller.report.updates == 2


async def test_a_crisis_message_gets_the_crisis_reply_at_once(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    app, poller = polling
    telegram.push_update(text_update(7201, CHAT, "he is not breathing"))
    await poller.once()
    with app.ctx.db() as db:
        kinds = list(db.scalars(select(m.OutboundMessage.kind)))
    assert "crisis" in kinds
    assert any("911" in text for text in sent_to(telegram, CHAT))


async def test_what_is_not_a_private_text_is_acknowledged_and_ignored(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    app, poller = polling
    group = text_update(7301, -100, "hello all")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Family"}
    telegram.push_update(group)
    assert await poller.once() == 1
    assert await poller.once() == 0  # acknowledged all the same
    assert telegram.received == [] and contacts(app) == 0
    assert poller.report.ignored == 1


async def test_a_webhook_in_the_way_is_named_and_removed_only_when_asked(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    _, poller = polling
    # given the bot has a webhook, as a deployed one does
    telegram.webhook = {"url": "https://bot.example.org/webhooks/telegram"}
    # when polling starts without --delete-webhook, it refuses and says why
    with pytest.raises(CliError, match="bot.example.org.*--delete-webhook"):
        await poller.prepare(delete_webhook=False)
    assert telegram.webhook["url"]
    # and with it, the webhook goes and polling can start
    assert await poller.prepare(delete_webhook=True) == "craftbot_standin_bot"
    assert telegram.webhook == {}


async def test_the_loop_answers_while_running_and_stops_at_once_when_asked(
    telegram: TelegramStandin, polling: tuple[App, Poller]
) -> None:
    _, poller = polling
    poller.long_poll_s = 30  # a long poll in progress must not delay stopping
    stop = asyncio.Event()
    loop = asyncio.create_task(poller.run(stop))
    await asyncio.sleep(0.2)
    telegram.push_update(text_update(7401, CHAT, "hi"))
    for _ in range(100):
        if sent_to(telegram, CHAT):
            break
        await asyncio.sleep(0.05)
    assert len(sent_to(telegram, CHAT)) == 1
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(loop, 5)
    assert time.monotonic() - started < 2


def test_craftbot_telegram_poll_end_to_end(telegram: TelegramStandin, tmp_path: Path) -> None:
    # given a coach with only a bot token (no webhook secret, no public URL)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("TWILIO_", "TELEGRAM_", "SENDGRID_", "STAFF_ALERT_"))
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path}/poll.db",
        "CRAFTBOT_PROGRAM_DIR": str(REPO_ROOT),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "DEFAULT_TIMEZONE": zone_at_midday(datetime.now(UTC)),  # no quiet hours in the way
    }
    telegram.push_update(text_update(7501, CHAT, "hello"))
    # when they run `craftbot telegram poll`
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram", "poll"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not sent_to(telegram, CHAT) and time.monotonic() < deadline:
            time.sleep(0.1)
        # then the message written in Telegram is answered
        assert len(sent_to(telegram, CHAT)) == 1
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    # and Ctrl-C stops it cleanly, after saying what it is doing
    assert process.returncode == 0, err
    assert "polling Telegram for @craftbot_standin_bot" in out
    assert "Traceback" not in err
