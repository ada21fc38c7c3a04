"""The console's services and page helpers, one `Console` object built by bot/console/app.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.app import App
from bot.console.accounts import Accounts
from bot.console.alert_desk import AlertDesk
from bot.console.chat import ChatRooms
from bot.console.family_actions import FamilyActions
from bot.console.guard import CSRF_FIELD, SessionCookie
from bot.console.inbox import Inbox
from bot.settings import Settings
from storage.ids import ROW_ID_DIGITS


class RowIdConvertor(Convertor[int]):
    """`{alert_id:row_id}`: only digits that can be a row id (storage/ids.py). A longer number is
    no page (404), where Starlette's `int` handed it to the database: an OverflowError, a 500."""

    regex = f"[0-9]{{1,{ROW_ID_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("row_id", RowIdConvertor())

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
    inbox: Inbox
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
