"""The program: flows as diagrams, the files on disk checked, each track's lessons previewed.

"Reload" (admins) asks the program holder to load the files on disk; it swaps the program only
when everything validates, so a broken edit never reaches families (this web process; workers
reload on their own when files change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.catalog.render import Audience, render
from bot.console.guard import admins_only, client_ip, staff_of
from bot.flows.graph import mermaid
from bot.flows.model import EXPECT_LABELS
from bot.problems import Problem
from bot.program_files import Loaded, load_program

if TYPE_CHECKING:
    from bot.console.console import Console

RELATIONSHIPS = EXPECT_LABELS["relationship"]
CHANNELS = ("sms", "telegram", "email")


@dataclass(frozen=True)
class Lesson:
    week: int
    day: int
    id: str
    text: str


def lessons(
    loaded: Loaded, relationship: str, channel: str, org: dict[str, str], track: str = "engaging"
) -> list[Lesson]:
    """A track's lessons as a family member with this relationship reads them on this channel."""
    profile = {"name": "Sam", "relationship": relationship, "lesson_time": "09:00"}
    profile["checkin_time"] = "19:00"
    audience = Audience(channel=channel, profile=profile)
    return [
        Lesson(
            (day - 1) // 7 + 1, day, lesson_id, render(loaded.catalogs, lesson_id, audience, org)
        )
        for day, lesson_id in enumerate(loaded.program.flows.order.track_lessons(track), start=1)
    ]


def routes(console: Console) -> list[Route]:
    holder = console.app.ctx.program
    checked: dict[tuple[float, int], list[Problem]] = {}

    def check_disk() -> list[Problem]:
        """The files on disk, checked again only when one changed (a full check is ~100 ms)."""
        paths = [*holder.files.flows_dir.rglob("*"), *holder.files.messages_dir.rglob("*")]
        stamp = (max((p.stat().st_mtime for p in paths), default=0.0), len(paths))
        if stamp not in checked:
            checked.clear()
            checked[stamp] = load_program(holder.files, holder.crisis)[1]
        return checked[stamp]

    async def program(request: Request) -> Response:
        problems = await run_in_threadpool(check_disk)
        flows = holder.current.program.flows.flows
        return console.page(
            request,
            "program.html",
            flows=[flows[k] for k in sorted(flows)],
            problems=problems,
            folder=str(holder.files.flows_dir.parent),
            reloaded=request.query_params.get("reloaded", ""),
        )

    async def flow(request: Request) -> Response:
        flows = holder.current.program.flows.flows
        chosen = flows.get(request.path_params["flow_id"])
        if chosen is None:
            return PlainTextResponse("no such flow in the program in use", 404)
        return console.page(request, "flow.html", flow=chosen, diagram=mermaid(chosen))

    async def lesson_page(request: Request) -> Response:
        relationship = request.query_params.get("relationship", "parent")
        channel = request.query_params.get("channel", "sms")
        relationship = relationship if relationship in RELATIONSHIPS else "parent"
        channel = channel if channel in CHANNELS else "sms"
        tracks = ("engaging", *holder.current.program.flows.order.tracks)
        track = request.query_params.get("track", "engaging")
        track = track if track in tracks else "engaging"
        shown = lessons(
            holder.current, relationship, channel, console.app.settings.org_placeholders(), track
        )
        return console.page(
            request,
            "lessons.html",
            lessons=shown,
            relationship=relationship,
            channel=channel,
            relationships=RELATIONSHIPS,
            channels=CHANNELS,
            track=track,
            tracks=tracks,
            weeks=-(-len(shown) // 7),
        )

    async def reload(request: Request) -> Response:
        problems = await run_in_threadpool(holder.reload)
        verdict = "refused" if problems else "applied"
        await run_in_threadpool(
            console.accounts.audit,
            staff_of(request),
            "program.reload",
            "program",
            "",
            f"{verdict}; {len(problems)} problem(s)",
            client_ip(request),
        )
        flows = holder.current.program.flows.flows
        return console.page(
            request,
            "program.html",
            409 if problems else 200,
            flows=[flows[k] for k in sorted(flows)],
            problems=problems,
            folder=str(holder.files.flows_dir.parent),
            reloaded=verdict,
        )

    return [
        Route("/program", program, methods=["GET"]),
        Route("/program/flows/{flow_id}", flow, methods=["GET"]),
        Route("/program/lessons", lesson_page, methods=["GET"]),
        Route("/program/reload", admins_only(reload), methods=["POST"]),
    ]
