"""What stands in front of every console page: CSRF, a signed-in staff member, safe headers.

Order, outermost first: headers, CSRF (every unsafe request needs the token, signed in or not),
then StaffOnly (every path but the sign-in pages and static files needs a live session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_csrf import CSRFMiddleware

from bot.console.accounts import Accounts, StaffUser

SESSION_COOKIE = "craftbot_staff"
CSRF_COOKIE = "craftbot_csrf"
CSRF_FIELD = "csrftoken"  # the hidden field every console form carries
PUBLIC_PREFIXES = ("/login", "/welcome/", "/static/")  # inside the mount: no session needed
HEADERS = {
    # Everything the console loads comes from itself; Mermaid draws with inline styles.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",  # pages hold families' conversations: keep them out of caches
}


def route_path(scope: Scope) -> str:
    """The path inside the console's mount ("/families/3" for "/console/families/3")."""
    root, path = scope.get("root_path", ""), scope["path"]
    return path[len(root) :] if root and path.startswith(root) else path


class SessionCookie:
    """The session token in a cookie signed with CONSOLE_SECRET_KEY (itsdangerous)."""

    def __init__(self, secret: str, secure: bool, hours: float) -> None:
        self.signer = TimestampSigner(secret, salt="craftbot.console.session")
        self.secure, self.max_age = secure, int(hours * 3600)

    def token(self, request: Request) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            return self.signer.unsign(raw, max_age=self.max_age).decode()
        except BadSignature:  # also expired: SignatureExpired is a BadSignature
            return None

    def set(self, response: Response, token: str, path: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.sign(token).decode(),
            max_age=self.max_age,
            path=path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, path: str) -> None:
        response.delete_cookie(SESSION_COOKIE, path=path, secure=self.secure, httponly=True)


class FormCSRF(CSRFMiddleware):
    """starlette-csrf's signed double-submit check, for plain HTML forms too.

    The library takes the token from a header only, which a form without JavaScript cannot send;
    here it may come as the form field `csrftoken` as well (the body is read once and handed on).
    The token is put in scope["state"] before the page renders, so the first page's forms carry
    the same value as the cookie the response sets.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        cookie = request.cookies.get(self.cookie_name)
        token = cookie if cookie and self._csrf_tokens_match(cookie, cookie) else None
        fresh = token is None
        token = token or self._generate_csrf_token()
        scope.setdefault("state", {})["csrf_token"] = token
        if request.method not in self.safe_methods:
            body = await request.body()
            submitted = request.headers.get(self.header_name) or _form_field(request, body)
            if not cookie or not submitted or not self._csrf_tokens_match(cookie, submitted):
                await self._get_error_response(request)(scope, receive, send)
                return
            receive = _replay(body)

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                response = Response()
                response.set_cookie(
                    self.cookie_name,
                    token,
                    path=self.cookie_path,
                    secure=self.cookie_secure,
                    httponly=True,  # forms get the token from the page, never from script
                    samesite="lax",
                )
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", response.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _get_error_response(self, request: Request) -> Response:
        return PlainTextResponse(
            "The form was missing its security token, or it was stale: go back, reload the page "
            "and try again.",
            403,
        )


def _form_field(request: Request, body: bytes) -> str | None:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if key == CSRF_FIELD:
            return value
    return None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


SignedOut = Callable[[Request, str, list[str]], Response]


class StaffOnly:
    """Every console path but the public ones needs a live session; the user lands in state.

    A page asked for without one is sent to sign in, to come back after. A form sent without one
    (the sign-in ended while the coach was writing) is answered by `signed_out`, given the page
    the form was on and the words it carried, so nothing typed is lost: the form is not done.
    """

    def __init__(
        self,
        app: ASGIApp,
        accounts: Accounts,
        cookie: SessionCookie,
        signed_out: SignedOut | None = None,
    ) -> None:
        self.app, self.accounts, self.cookie = app, accounts, cookie
        self.signed_out = signed_out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        request = Request(scope)
        token = self.cookie.token(request)
        user = await run_in_threadpool(self.accounts.session_user, token) if token else None
        state = scope.setdefault("state", {})
        state["staff"], state["session_token"] = user, token if user else None
        if user is None and not path.startswith(PUBLIC_PREFIXES):
            if request.method in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                wanted = path + (f"?{query}" if query else "")  # a search, a saved answer chosen
                target = f"{scope.get('root_path', '')}/login?next={quote(wanted, safe='/')}"
                await RedirectResponse(target, 303)(scope, receive, send)
            elif self.signed_out is None:
                await PlainTextResponse("sign in first", 401)(scope, receive, send)
            else:
                request = Request(scope, receive)
                words = await _typed_words(request)
                response = self.signed_out(request, _form_page(request, path), words)
                await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


WORD_FIELDS = ("text", "note")  # what a coach writes in the console's forms


async def _typed_words(request: Request) -> list[str]:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return []
    form = await request.form()
    return [str(form[k]) for k in WORD_FIELDS if str(form.get(k, "")).strip()]


def _form_page(request: Request, path: str) -> str:
    """The console page a form was sent from, inside the mount: the referring page when it is
    one of ours, else the page the form's address belongs to (/questions/3 for
    /questions/3/answer)."""
    root = request.scope.get("root_path", "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith(root + "/"):
        inside = referer.path[len(root) :]
        if not inside.startswith(PUBLIC_PREFIXES):
            return inside + (f"?{referer.query}" if referer.query else "")
    return path.rsplit("/", 1)[0] or "/alerts"


class SafeHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


Handler = Callable[[Request], Awaitable[Response]]


def admins_only(handler: Handler) -> Handler:
    """For what only an admin may do (reload the program, erase a family, read the audit log)."""

    async def wrapper(request: Request) -> Response:
        user: StaffUser | None = request.state.staff
        if user is None or not user.is_admin:
            return PlainTextResponse("only an admin can do this", 403)
        return await handler(request)

    wrapper.__name__ = handler.__name__
    return wrapper


def staff_of(request: Request) -> StaffUser:
    user: Any = request.state.staff
    if not isinstance(user, StaffUser):  # StaffOnly lets no request through without one
        raise PermissionError("no staff member signed in")
    return user


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
