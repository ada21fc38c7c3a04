"""The alerts page (the console's landing page) and what a coach does about an alert.

Each action is its own small handler calling one `AlertDesk` method, so wiring the desk to the
runtime's alert-status model later changes no page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.alert_desk import AlertView
from bot.console.console import discreet_cover
from bot.console.guard import client_ip, staff_of
from bot.engine.session import Session
from storage import console_queries as q

if TYPE_CHECKING:
    from bot.console.console import Console

MOUNT = "/console"
CONTEXT = timedelta(hours=12)  # the conversation shown around an alert, each side
BEFORE, AFTER = 6, 4  # things shown from the conversation before the alert (itself included), after
WITH_CONTEXT = 10  # open alerts shown with their conversation on the list (the rest: their page)
DONE = {
    "acknowledged": "Acknowledged: the team can see you have it.",
    "closed": "Closed.",
    "noted": "Note added.",
    "queued": "Your message is queued and goes out on the family's channel now.",
    "held": "Your message is queued; it waits for the end of the family's quiet hours.",
    "unchanged": "Nothing changed: the alert was already past that step.",
}


REFUSALS = {  # why "reach the family" queued nothing, as the coach reads it
    "": "",
    "empty": "write the message first",
    "gone": "this family is no longer in the program",
    "opted_out": "this family opted out: we never message them",
}


def routes(console: Console) -> list[Route]:
    desk = console.desk

    def conversation(contact_id: int, at: datetime) -> list[q.Row]:
        with console.app.ctx.db() as db:
            return q.around(db, [(contact_id, at)], CONTEXT, BEFORE, AFTER)[0]

    def cover_word(contact_id: int) -> str:
        with console.app.ctx.db() as db:
            contact = q.family(db, contact_id)
            return discreet_cover(Session.from_json(contact.session).profile) if contact else ""

    def listing() -> tuple[list[AlertView], dict[int, list[q.Row]]]:
        alerts = desk.alerts()
        still_open = [a for a in alerts if a.status != "closed"][:WITH_CONTEXT]
        with console.app.ctx.db() as db:  # one statement for all of them
            found = q.around(db, [(a.contact_id, a.at) for a in still_open], CONTEXT, BEFORE, AFTER)
        return alerts, {a.id: rows for a, rows in zip(still_open, found, strict=True)}

    async def alerts_page(request: Request) -> Response:
        alerts, context = await run_in_threadpool(listing)
        return console.page(
            request,
            "alerts.html",
            alerts=alerts,
            context=context,
            now=console.now(),
            done=DONE.get(request.query_params.get("done", ""), ""),
        )

    async def alert_page(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        alert = await run_in_threadpool(desk.alert, alert_id)
        if alert is None:
            return gone(request)
        rows = await run_in_threadpool(conversation, alert.contact_id, alert.at)
        cover = await run_in_threadpool(cover_word, alert.contact_id)
        await run_in_threadpool(
            console.accounts.audit,
            staff_of(request),
            "alert.view",
            "alert",
            alert_id,
            f"family {alert.contact_id}",
            client_ip(request),
        )
        return console.page(
            request,
            "alert.html",
            alert=alert,
            rows=rows,
            now=console.now(),
            done=DONE.get(request.query_params.get("done", ""), ""),
            refused=request.query_params.get("refused", "") == "1",
            cover=cover,
        )

    def gone(request: Request) -> Response:
        return console.page(
            request,
            "family_gone.html",
            404,
            title="Alert",
            message="There is no such alert: the family may have been removed, with their alerts.",
            back=f"{MOUNT}/alerts",
        )

    def back(alert_id: int, done: str) -> Response:
        return RedirectResponse(f"{MOUNT}/alerts/{alert_id}?done={done}", 303)

    async def acknowledge(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]

        async def work() -> Response:
            ok = await run_in_threadpool(
                desk.acknowledge, alert_id, staff_of(request), client_ip(request)
            )
            return back(alert_id, "acknowledged" if ok else "unchanged")

        return await console.once_only(request, work)

    async def close(request: Request) -> Response:
        alert_id, form = request.path_params["alert_id"], await request.form()

        async def work() -> Response:
            note, user = str(form.get("note", "")), staff_of(request)
            ok = await run_in_threadpool(desk.close, alert_id, user, note, client_ip(request))
            return back(alert_id, "closed" if ok else "unchanged")

        return await console.once_only(request, work)

    async def note(request: Request) -> Response:
        alert_id, form = request.path_params["alert_id"], await request.form()

        async def work() -> Response:
            ok = await run_in_threadpool(
                desk.add_note,
                alert_id,
                staff_of(request),
                str(form.get("note", "")),
                client_ip(request),
            )
            return back(alert_id, "noted" if ok else "unchanged")

        return await console.once_only(request, work)

    async def reach(request: Request) -> Response:
        """Send the coach's words to the family; the reply to the alert's page says how it went."""
        alert_id, form = request.path_params["alert_id"], await request.form()

        async def work() -> Response:
            alert = await run_in_threadpool(desk.alert, alert_id)
            if alert is None:
                return gone(request)
            reached = await run_in_threadpool(
                desk.reach_family,
                alert.contact_id,
                staff_of(request),
                str(form.get("text", "")),
                client_ip(request),
            )
            if reached.outbox_id is None:
                reason = REFUSALS[reached.refused]
                return console.page(request, "alert_refused.html", 409, alert=alert, reason=reason)
            dispatcher, outbox_id = console.app.dispatcher, reached.outbox_id
            return RedirectResponse(
                f"{MOUNT}/alerts/{alert_id}?done={'held' if reached.not_before else 'queued'}",
                303,
                background=BackgroundTask(dispatcher.dispatch, ids=[outbox_id], limit=1),
            )

        return await console.once_only(request, work)

    return [
        Route("/alerts", alerts_page, methods=["GET"]),
        Route("/alerts/{alert_id:row_id}", alert_page, methods=["GET"]),
        Route("/alerts/{alert_id:row_id}/acknowledge", acknowledge, methods=["POST"]),
        Route("/alerts/{alert_id:row_id}/close", close, methods=["POST"]),
        Route("/alerts/{alert_id:row_id}/note", note, methods=["POST"]),
        Route("/alerts/{alert_id:row_id}/reach", reach, methods=["POST"]),
    ]
