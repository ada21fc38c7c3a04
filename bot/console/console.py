"""The console's services and page helpers, one `Console` object built by bot/console/app.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.app import App
from bot.console.accounts import Accounts
from bot.console.alert_desk import AlertDesk
from bot.console.chat import ChatRooms
from bot.console.family_actions import FamilyActions
from bot.console.guard import CSRF_FIELD, SessionCookie, staff_of
from bot.console.inbox import Inbox
from bot.console.once import FIELD as ONCE_FIELD
from bot.console.once import OnceForms
from bot.flows.model import ProgramOrder
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
    once: OnceForms = field(default_factory=OnceForms)

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
            "once": self.once.issue,
            "lesson_ids": lesson_ids(self.app.ctx.program.current.program.flows.order),
        }
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    async def once_only(
        self, request: Request, work: Callable[[], Awaitable[Response]]
    ) -> Response:
        """A form's work done once: a repeat of the same form (a second tap, a reload) gets the
        first one's answer, a redirect (bot/console/once.py). A refusal is not kept."""
        form, staff = await request.form(), staff_of(request)
        key = str(form.get(ONCE_FIELD, ""))
        answered = await run_in_threadpool(self.once.claim, staff.id, key)
        if answered is not None:
            return RedirectResponse(answered, 303)
        response: Response | None = None
        try:
            response = await work()
        finally:
            if response is not None and response.status_code == 303:
                self.once.keep(staff.id, key, response.headers["location"])
            else:  # refused, or failed: nothing was done, so the form may be sent again
                self.once.release(staff.id, key)
        return response

    def close(self) -> None:
        self.rooms.close()


def discreet_cover(profile: dict[str, str]) -> str:
    """The word to write for the loved one when the family is in discreet mode (someone else
    may read their phone), or '' when they are not."""
    if profile.get("discreet") != "yes":
        return ""
    return profile.get("cover_word") or "your loved one"


def lesson_ids(order: ProgramOrder) -> frozenset[str]:
    """Every message a timeline tags "lesson": each track's lessons, and the reviews after."""
    return frozenset(
        [*order.lessons, *order.maintenance, *(i for t in order.tracks.values() for i in t)]
    )


def when(value: datetime | None, zone: str = "") -> str:
    """'Tue 03 Mar 14:05 UTC', or in the given zone 'Tue 03 Mar 09:05 EST': a page may show a
    family's clock beside UTC, so each time says which it is. '' for nothing."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone) if zone else None
    except (KeyError, ValueError):
        tz = None
    shown = value.astimezone(tz or UTC)
    return f"{shown:%a %d %b %H:%M %Z}"


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    minutes = int((now - value).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"
