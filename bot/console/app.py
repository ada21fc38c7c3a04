"""The coach console: a Starlette app mounted at /console/ by the web app (bot/web/app.py).

Built from the wired `App` (no module-level state): its services, templates and routes live in
one `Console` object. Pages are server-rendered Jinja2; the only script is the vendored Mermaid.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.app import App
from bot.console import (
    pages_alerts,
    pages_auth,
    pages_families,
    pages_program,
    pages_questions,
    pages_tools,
)
from bot.console.accounts import Accounts
from bot.console.alert_desk import RuntimeAlertDesk
from bot.console.chat import ChatRooms
from bot.console.console import HERE, MOUNT, Console, ago, when
from bot.console.family_actions import FamilyActions
from bot.console.guard import (
    CSRF_COOKIE,
    FormCSRF,
    SafeHeaders,
    SessionCookie,
    StaffOnly,
)
from bot.console.inbox import Inbox


def create_console(app: App) -> tuple[Starlette, Console]:
    """The console's ASGI app (to mount at /console) and its services (closed with the web app)."""
    settings = app.settings
    accounts = Accounts(app.ctx.db, app.ctx.clock, PasswordHasher())
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # The templates ship with the code: looking at each file's mtime on every page was a fifth of
    # the alerts page's rendering.
    templates.env.auto_reload = False
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
        desk=RuntimeAlertDesk(app.runtime, accounts),
        families=FamilyActions(app.runtime, accounts),
        inbox=Inbox(app.ctx, accounts),
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
        Middleware(
            StaffOnly,
            accounts=accounts,
            cookie=console.cookie,
            signed_out=lambda request, page, words: pages_auth.signed_out(
                console, request, page, words
            ),
        ),
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
        *pages_questions.routes(console),
        *pages_families.routes(console),
        *pages_program.routes(console),
        *pages_tools.routes(console),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
