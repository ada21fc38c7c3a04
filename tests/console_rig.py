"""The console under test: the real web app (console on) on SQLite, a clock tests move, and a
browser-like client that signs in and carries the CSRF token as a page's forms do."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from argon2 import PasswordHasher

from bot.app import App, build
from bot.channels.base import InboundMessage, OutboundMessage
from bot.channels.console import ConsoleChannel
from bot.console.accounts import Accounts, StaffUser
from bot.settings import Settings
from bot.web.app import create_app
from tests.e2e import WebServer, loopback_socket

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)  # a Monday morning, outside quiet hours
SECRET = "console-test-secret-0123456789-abcdefghij"
PASSWORD = "correct horse battery"
COACH, ADMIN = "coach@example.org", "admin@example.org"
# The cheapest argon2 parameters: the tests check the flow, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_TOKEN = re.compile(r'name="csrftoken" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def console_settings(db_url: str, **overrides: Any) -> Settings:
    """Console on, with a test key; nothing else from the environment matters here."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "console_enabled": True,
        "console_secret_key": SECRET,
        "default_timezone": "America/New_York",
        "org_name": "Family Support",
        "org_contact": "call 555-0100",
    }
    values.update(overrides)
    return Settings(**values)


class Rig:
    """The app, its clock, what the channels delivered, and clients for staff."""

    def __init__(self, app: App, clock: Clock, delivered: list[OutboundMessage], url: str) -> None:
        self.app, self.clock, self.delivered, self.url = app, clock, delivered, url
        self.accounts = Accounts(app.ctx.db, app.ctx.clock, FAST_HASHER)
        self._clients: list[httpx.Client] = []

    def staff(self, email: str, role: str = "coach", password: str = PASSWORD) -> StaffUser:
        user, _ = self.accounts.add(email, role, password)
        return user

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def signed_in(self, email: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        response = post_form(client, "/console/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return client

    def family_writes(self, address: str, text: str, sid: str) -> int:
        """A family member texts the bot; returns their contact id. Replies go out at once."""
        result = self.app.runtime.handle_inbound(InboundMessage("sms", address, text, sid))
        self.dispatch()
        assert result.contact_id is not None
        return result.contact_id

    def dispatch(self) -> None:
        # On a thread of its own: a test driving a browser has an event loop running here.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self.app.dispatcher.drain(self.clock.now)).result()


def csrf_token(client: httpx.Client, path: str = "/console/login") -> str:
    """The token a page's forms carry (the GET also sets the matching cookie)."""
    page = client.get(path)
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF field on {path}: {page.status_code} {page.text[:200]}"
    return found.group(1)


def post_form(
    client: httpx.Client, path: str, data: dict[str, str], page: str = "/console/login"
) -> Any:
    return client.post(path, data={**data, "csrftoken": csrf_token(client, page)})


@contextmanager
def console_rig(tmp_path: Path, **overrides: Any) -> Iterator[Rig]:
    delivered: list[OutboundMessage] = []
    channels = {n: ConsoleChannel(delivered.append, n) for n in ("sms", "telegram", "email")}
    clock = Clock(START)
    settings = console_settings(f"sqlite:///{tmp_path / 'console.db'}", **overrides)
    app = build(settings, channels=channels, clock=clock, rate_limits=False)
    sock = loopback_socket()
    server = WebServer(create_app(app), sock)
    server.start()
    rig = Rig(app, clock, delivered, f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        yield rig
    finally:
        rig.close()
        server.stop()
