"""Questions: the inbox of what families asked a coach (ASK), and answering one.

Opening a question is recorded in the audit log (it shows the family's conversation), and so is
every answer and closing; the work is `Inbox`'s (bot/console/inbox.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.console import discreet_cover
from bot.console.guard import client_ip, staff_of
from bot.console.inbox import MAX_ANSWER, REFUSED, QuestionView
from storage import console_queries as cq

if TYPE_CHECKING:
    from bot.console.console import Console

MOUNT = "/console"
BEFORE = 8  # things shown from the conversation up to the question (itself included)
DONE = {
    "sent": "Your answer is queued and goes out on the family's channel now.",
    "held": "Your answer is queued; it waits for the end of the family's quiet hours.",
    "closed": "Closed: nothing was sent to the family.",
    "unchanged": "Nothing changed: the question was already answered or closed.",
}


def waited(span: timedelta) -> str:
    """'12 min', '3 h 20 min', '2 days 4 h': how long a family waited."""
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days {minutes % 1440 // 60} h"


def routes(console: Console) -> list[Route]:
    inbox, ctx = console.inbox, console.app.ctx

    async def questions(request: Request) -> Response:
        listed, waiting = await run_in_threadpool(inbox.listing)
        return console.page(
            request,
            "questions.html",
            questions=listed,
            waiting=waiting,
            now=console.now(),
            waited=waited,
            timed=[
                (locale, console.settings.answer_within().get(locale, ""))
                for locale in inbox.timed_locales()
            ],
        )

    def conversation(question: QuestionView) -> list[cq.Row]:
        with ctx.db() as db:
            return cq.timeline(db, question.contact_id, BEFORE, until=question.asked_at)

    async def question_page(request: Request) -> Response:
        question_id: int = request.path_params["question_id"]
        question = await run_in_threadpool(inbox.question, question_id)
        if question is None:  # never asked, or the family was erased (maybe while it was open)
            refused = request.query_params.get("refused", "")
            return console.page(
                request,
                "family_gone.html",
                404,
                title="Question",
                message=REFUSED["gone"] if refused == "gone" else "There is no such question.",
                back=f"{MOUNT}/questions",
            )
        rows = await run_in_threadpool(conversation, question)
        canned = await run_in_threadpool(inbox.canned, question)
        told = inbox.told(question)
        chosen = next((c for c in canned if c.id == request.query_params.get("use")), None)
        await run_in_threadpool(
            console.accounts.audit,
            staff_of(request),
            "question.view",
            "question",
            question_id,
            f"family {question.contact_id}",
            client_ip(request),
        )
        code = request.query_params.get("done", "")
        return console.page(
            request,
            "question.html",
            question=question,
            rows=rows,
            canned=canned,
            chosen=chosen,
            draft=chosen.text if chosen else "",
            max_answer=MAX_ANSWER,
            now=console.now(),
            waited=waited,
            zone=question.zone,
            done=DONE.get(code, ""),
            refused=REFUSED.get(request.query_params.get("refused", ""), ""),
            told=told,
            cover=discreet_cover(question.profile),
        )

    def back(question_id: int, query: str) -> Response:
        return RedirectResponse(f"{MOUNT}/questions/{question_id}?{query}", 303)

    async def answer(request: Request) -> Response:
        question_id: int = request.path_params["question_id"]
        form = await request.form()

        async def work() -> Response:
            sent = await run_in_threadpool(
                inbox.answer,
                question_id,
                staff_of(request),
                str(form.get("text", "")),
                client_ip(request),
            )
            if sent.outbox_id is None:
                return back(question_id, f"refused={sent.refused}")
            return RedirectResponse(
                f"{MOUNT}/questions/{question_id}?done={'held' if sent.not_before else 'sent'}",
                303,
                background=BackgroundTask(
                    console.app.dispatcher.dispatch, ids=[sent.outbox_id], limit=1
                ),
            )

        # the same form sent twice is answered as the first was, not "someone else answered"
        return await console.once_only(request, work)

    async def close(request: Request) -> Response:
        question_id: int = request.path_params["question_id"]
        form = await request.form()
        closed = await run_in_threadpool(
            inbox.close,
            question_id,
            staff_of(request),
            str(form.get("note", "")),
            client_ip(request),
        )
        return back(question_id, f"done={'closed' if closed else 'unchanged'}")

    return [
        Route("/questions", questions, methods=["GET"]),
        Route("/questions/{question_id:row_id}", question_page, methods=["GET"]),
        Route("/questions/{question_id:row_id}/answer", answer, methods=["POST"]),
        Route("/questions/{question_id:row_id}/close", close, methods=["POST"]),
    ]
