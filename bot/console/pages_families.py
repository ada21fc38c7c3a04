"""Families: search, a profile with the whole conversation, and pause / resume / stop / remove.

Opening a family's page is recorded in the audit log (who looked at whose conversation), and so
is every change; the changes go through `FamilyActions`, which uses the runtime's handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.console.family_actions import MESSAGES, Outcome
from bot.console.guard import admins_only, client_ip, staff_of
from bot.engine.session import INDEFINITE, Session
from bot.flows.model import ProgramOrder
from bot.runtime.family_data import FILE_NAME, MEDIA_TYPE
from storage import console_queries as q
from storage import models as m

if TYPE_CHECKING:
    from bot.console.console import Console

MOUNT = "/console"
SEARCH_LIMIT = 50
TIMELINE_LIMIT = 500


@dataclass(frozen=True)
class Profile:
    contact: m.Contact
    session: Session
    consents: list[m.Consent]
    stage: str  # where they are in the lessons of their track, from the engine's session
    paused: str  # "" or how long


def _profile(contact: m.Contact, consents: list[m.Consent], order: ProgramOrder) -> Profile:
    session = Session.from_json(contact.session)
    track = session.profile.get("track") or "engaging"
    lessons = order.track_lessons(track)
    # Each track keeps its own place (bot/engine/step.py, lesson): the first track's is
    # lesson_pos, the others' are pools.
    pos = session.lesson_pos if lessons is order.lessons else session.pools.get(f"track.{track}", 0)
    if not session.onboarded:
        stage = "joining" if session.status in ("new", "onboarding") else "not joined"
    elif pos == 0:
        stage = "joined; first lesson not yet sent"
    else:
        stage = f"lesson {pos} of {len(lessons)}"
        if pos > len(lessons):
            stage = f"after the lessons: review {pos - len(lessons)}"
        elif lessons is order.lessons:
            stage = f"week {(pos - 1) // 7 + 1}, {stage}"
        if lessons is not order.lessons:
            stage = f"{track} track: {stage}"
    paused = ""
    if session.paused_until == INDEFINITE:
        paused = "paused until someone resumes"
    elif session.paused_until:
        paused = f"paused until {session.paused_until[:16].replace('T', ' ')} UTC"
    return Profile(contact, session, consents, stage, paused)


NO_STORE = {"Cache-Control": "no-store"}


def routes(console: Console) -> list[Route]:
    ctx = console.app.ctx

    async def search(request: Request) -> Response:
        text = request.query_params.get("q", "")[:200]

        def find() -> list[m.Contact]:
            with ctx.db() as db:
                return list(q.search_families(db, text, SEARCH_LIMIT))

        found = await run_in_threadpool(find)
        if text:
            await run_in_threadpool(
                console.accounts.audit,
                staff_of(request),
                "family.search",
                "family",
                "",
                text,
                client_ip(request),
            )
        return console.page(request, "families.html", q=text, found=found, limit=SEARCH_LIMIT)

    async def family(request: Request) -> Response:
        contact_id: int = request.path_params["contact_id"]
        order = ctx.program.current.program.flows.order

        def read() -> tuple[Profile, list[q.Row]] | None:
            with ctx.db() as db:
                contact = q.family(db, contact_id)
                if contact is None:
                    return None
                profile = _profile(contact, list(q.consents(db, contact_id)), order)
                return profile, q.timeline(db, contact_id, TIMELINE_LIMIT)

        found = await run_in_threadpool(read)
        code = request.query_params.get("done", "")
        if found is None:
            removed = code == "removed"  # the admin who erased them lands here
            message = MESSAGES["removed"] if removed else "There is no such family."
            return console.page(
                request, "family_gone.html", 404, message=message, status_ok=removed
            )
        await run_in_threadpool(
            console.accounts.audit,
            staff_of(request),
            "family.view",
            "family",
            contact_id,
            "",
            client_ip(request),
        )
        profile, rows = found
        return console.page(
            request,
            "family.html",
            p=profile,
            rows=rows,
            limit=TIMELINE_LIMIT,
            done=MESSAGES.get(code, ""),
            now=console.now(),
        )

    def action(name: str) -> Route:
        async def handler(request: Request) -> Response:
            contact_id: int = request.path_params["contact_id"]
            form = await request.form()
            if name == "remove" and str(form.get("confirm", "")).strip() != str(contact_id):
                return console.page(
                    request,
                    "family_gone.html",
                    400,
                    message="Nothing was removed: type the family's number to confirm.",
                    back=f"{MOUNT}/families/{contact_id}",
                )
            do = getattr(console.families, name)
            outcome: Outcome = await run_in_threadpool(
                do, contact_id, staff_of(request), client_ip(request)
            )
            return RedirectResponse(f"{MOUNT}/families/{contact_id}?done={outcome.code}", 303)

        handler.__name__ = f"family_{name}"
        guarded = admins_only(handler) if name == "remove" else handler
        return Route(f"/families/{{contact_id:row_id}}/{name}", guarded, methods=["POST"])

    async def export(request: Request) -> Response:
        """The family's data as the file MYDATA gives them: for a request by phone or letter."""
        contact_id: int = request.path_params["contact_id"]
        data = await run_in_threadpool(
            console.families.export, contact_id, staff_of(request), client_ip(request)
        )
        if data is None:
            return console.page(
                request, "family_gone.html", 404, message="There is no such family."
            )
        name = f"family-{contact_id}-{FILE_NAME}"
        return Response(
            data,
            media_type=MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
        )

    async def confirm_remove(request: Request) -> Response:
        contact_id: int = request.path_params["contact_id"]
        if not staff_of(request).is_admin:
            return PlainTextResponse("only an admin can remove a family", 403)
        return console.page(request, "family_remove.html", contact_id=contact_id)

    return [
        Route("/families", search, methods=["GET"]),
        Route("/families/{contact_id:row_id}", family, methods=["GET"]),
        Route("/families/{contact_id:row_id}/remove", confirm_remove, methods=["GET"]),
        Route("/families/{contact_id:row_id}/export", admins_only(export), methods=["GET"]),
        *(action(name) for name in ("pause", "resume", "stop", "remove")),
    ]
