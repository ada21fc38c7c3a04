"""Stats (aggregates only), the web chat on the real engine, and the audit log (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.channels.base import ChannelName
from bot.console import stats
from bot.console.charts import render
from bot.console.chat import JUMPS, WAITS
from bot.console.guard import admins_only, client_ip, staff_of
from bot.problems import ProblemsFound
from storage import console_accounts

if TYPE_CHECKING:
    from bot.console.console import Console

MOUNT = "/console"
CHANNELS = ("sms", "telegram", "email")
AUDIT_LIMIT = 300


def routes(console: Console) -> list[Route]:
    ctx = console.app.ctx

    memo = stats.Memo(ctx.db)

    async def stats_page(request: Request) -> Response:
        charts, made = await run_in_threadpool(memo.charts, console.now())
        return console.page(
            request,
            "stats.html",
            charts=[(c, render(c)) for c in charts],
            now=made,
            fresh_minutes=int(memo.fresh.total_seconds() // 60),
        )

    async def chat(request: Request) -> Response:
        room = console.rooms.get(staff_of(request).id)
        return console.page(
            request,
            "chat.html",
            room=room,
            jumps=JUMPS,
            waits=WAITS,
            channels=CHANNELS,
            zone=console.settings.default_timezone,
            note=request.query_params.get("note", ""),
        )

    async def chat_start(request: Request) -> Response:
        form, user = await request.form(), staff_of(request)
        channel = str(form.get("channel", "sms"))
        zone = str(form.get("zone", console.settings.default_timezone))
        if channel not in CHANNELS or zone not in available_timezones():
            return RedirectResponse(f"{MOUNT}/chat?note=bad_start", 303)
        try:
            await run_in_threadpool(console.rooms.open, user.id, cast(ChannelName, channel), zone)
        except ProblemsFound as exc:
            return console.page(request, "chat.html", 409, room=None, problems=exc.problems)
        await run_in_threadpool(
            console.accounts.audit, user, "chat.start", "", "", channel, client_ip(request)
        )
        return RedirectResponse(f"{MOUNT}/chat", 303)

    async def chat_act(request: Request) -> Response:
        room = console.rooms.get(staff_of(request).id)
        if room is None:
            return RedirectResponse(f"{MOUNT}/chat", 303)
        form = await request.form()
        text, jump, wait = (str(form.get(k, "")) for k in ("text", "jump", "wait"))
        note = ""
        if text.strip():
            await run_in_threadpool(room.say, text.strip()[:1600])
        elif jump in JUMPS:
            note = "nothing_scheduled" if await run_in_threadpool(room.jump, jump) else ""
        elif wait in WAITS:
            await run_in_threadpool(room.wait, WAITS[wait])
        return RedirectResponse(f"{MOUNT}/chat" + (f"?note={note}" if note else "") + "#end", 303)

    async def audit(request: Request) -> Response:
        prefix = request.query_params.get("action", "")[:40]

        def read() -> list[object]:
            with ctx.db() as db:
                return list(console_accounts.recent_audit(db, AUDIT_LIMIT, prefix))

        entries = await run_in_threadpool(read)
        return console.page(request, "audit.html", entries=entries, action=prefix)

    return [
        Route("/stats", stats_page, methods=["GET"]),
        Route("/chat", chat, methods=["GET"]),
        Route("/chat/start", chat_start, methods=["POST"]),
        Route("/chat/say", chat_act, methods=["POST"]),
        Route("/audit", admins_only(audit), methods=["GET"]),
    ]
