"""The coach console: a Starlette app mounted at /console/ by the web app (bot/web/app.py).

Built from the wired `App` (no module-level state): its services, templates and routes live in
one `Console` object. Pages are server-rendered Jinja2; the only script is the vendored Mermaid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.app import App
from bot.console import pages_alerts, pages_auth, pages_families, pages_program, pages_tools
from bot.console.accounts import Accounts
from bot.console.alert_desk import AlertDesk, InterimAlertDesk
from bot.console.chat import ChatRooms
from bot.console.family_actions import FamilyActions
from bot.console.guard import (
    CSRF_COOKIE,
    CSRF_FIELD,
    FormCSRF,
    SafeHeaders,
    SessionCookie,
    StaffOnly,
)
from bot.settings import Settings

HERE = Path(__file__).parent
MOUNT = "/console"
MERMAID = "vendor/mermaid-11.17.2.min.js"  # see static/vendor/README.md


@dataclass
class Console:
    app: App
    accounts: Accounts
    cookie: SessionCookie
    desk: AlertDesk
    families: FamilyActions
    rooms: ChatRooms
    templates: Jinja2Templates

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def now(self) -> datetime:
        return self.app.ctx.clock()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context |= {
            "staff": request.state.staff,
            "csrf_field": CSRF_FIELD,
            "csrf_token": request.state.csrf_token,
            "org": self.settings.org_name,
            "mount": MOUNT,
            "mermaid": MERMAID,
        }
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def close(self) -> None:
        self.rooms.close()


def when(value: datetime | None, zone: str = "") -> str:
    """'Tue 03 Mar 14:05' in the given zone (UTC if none); '' for nothing."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone) if zone else None
    except (KeyError, ValueError):
        tz = None
    shown = value.astimezone(tz or UTC)
    return f"{shown:%a %d %b %H:%M}" + ("" if tz else " UTC")


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    minutes = int((now - value).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"


def create_console(app: App) -> tuple[Starlette, Console]:
    """The console's ASGI app (to mount at /console) and its services (closed with the web app)."""
    settings = app.settings
    accounts = Accounts(app.ctx.db, app.ctx.clock, PasswordHasher())
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = when
    templates.env.globals["ago"] = ago
    console = Console(
        app=app,
        accounts=accounts,
        cookie=SessionCookie(
            settings.console_secret_key,
            settings.console_cookies_secure(),
            settings.console_session_hours,
        ),
        desk=InterimAlertDesk(app.ctx, accounts),
        families=FamilyActions(app.ctx, accounts),
        rooms=ChatRooms(settings),
        templates=templates,
    )
    middleware = [
        Middleware(SafeHeaders),
        Middleware(
            FormCSRF,
            secret=settings.console_secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_path=MOUNT,
            cookie_secure=settings.console_cookies_secure(),
        ),
        Middleware(StaffOnly, accounts=accounts, cookie=console.cookie),
    ]
    web = Starlette(routes=console_routes(console), middleware=middleware)
    return web, console


def console_routes(console: Console) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        return RedirectResponse(f"{MOUNT}/alerts", 303)

    return [
        Route("/", home, methods=["GET"]),
        *pages_auth.routes(console),
        *pages_alerts.routes(console),
        *pages_families.routes(console),
        *pages_program.routes(console),
        *pages_tools.routes(console),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
