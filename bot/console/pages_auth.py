"""Signing in and out, and setting a password from a one-time link."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.accounts import AccountError
from bot.console.guard import client_ip, staff_of

if TYPE_CHECKING:
    from bot.console.console import Console

MOUNT = "/console"


def _safe_next(target: str) -> str:
    """Only a path inside the console: a sign-in link must not send anyone elsewhere."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return MOUNT + target
    return MOUNT + "/alerts"


def signed_out(console: Console, request: Request, page: str, words: list[str]) -> Response:
    """A form sent after the sign-in ended: nothing was done; sign in again, the words kept."""
    hours = console.settings.console_session_hours
    return console.page(
        request,
        "login.html",
        401,
        next=page,
        kept=words,
        error=f"Your sign-in ended (it lasts {hours:g} hours), so nothing was sent or changed. "
        "Sign in again to go back to the page, and send it again.",
    )


def routes(console: Console) -> list[Route]:
    settings = console.settings
    window = timedelta(minutes=settings.console_login_window_minutes)

    async def login(request: Request) -> Response:
        next_path = request.query_params.get("next", "/alerts")
        if request.method == "GET":
            if request.state.staff is not None:
                return RedirectResponse(_safe_next(next_path), 303)
            return console.page(request, "login.html", next=next_path)
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        next_path = str(form.get("next", next_path))
        ip = client_ip(request)
        accounts = console.accounts
        if await run_in_threadpool(
            accounts.throttled, email, ip, settings.console_login_attempts, window
        ):
            minutes = int(settings.console_login_window_minutes)
            return console.page(
                request,
                "login.html",
                429,
                next=next_path,
                email=email,
                error=f"Too many failed sign-ins. Wait {minutes} minutes and try again, or ask "
                "an admin for a new set-up link.",
            )
        user = await run_in_threadpool(accounts.check_password, email, password)
        if user is None:
            await run_in_threadpool(accounts.failed_login, email, ip)
            return console.page(
                request,
                "login.html",
                401,
                next=next_path,
                email=email,
                error="That email and password do not match an account.",
            )
        token = await run_in_threadpool(
            accounts.start_session, user, settings.console_session_hours, ip
        )
        response = RedirectResponse(_safe_next(next_path), 303)
        console.cookie.set(response, token, MOUNT)
        return response

    async def logout(request: Request) -> Response:
        user, token = staff_of(request), request.state.session_token
        await run_in_threadpool(console.accounts.end_session, token, user, client_ip(request))
        response = RedirectResponse(f"{MOUNT}/login", 303)
        console.cookie.clear(response, MOUNT)
        return response

    async def welcome(request: Request) -> Response:
        token = request.path_params["token"]
        owner = await run_in_threadpool(console.accounts.link_owner, token)
        if owner is None:
            return console.page(request, "welcome.html", 404, invalid=True)
        if request.method == "GET":
            return console.page(request, "welcome.html", email=owner.email)
        form = await request.form()
        password, again = str(form.get("password", "")), str(form.get("again", ""))
        if password != again:
            return console.page(
                request, "welcome.html", 400, email=owner.email, error="The two passwords differ."
            )
        try:
            await run_in_threadpool(
                console.accounts.set_password_by_link, token, password, client_ip(request)
            )
        except AccountError as exc:
            return console.page(request, "welcome.html", 400, email=owner.email, error=str(exc))
        return RedirectResponse(f"{MOUNT}/login?set=1", 303)

    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/welcome/{token}", welcome, methods=["GET", "POST"]),
    ]
