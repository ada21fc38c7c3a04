"""Every console route refuses a visitor who is not signed in, and every form post without its
CSRF token. The routes are read from the app itself, so a new route cannot forget."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.web.app import create_app
from storage import models as m
from tests.console_rig import ADMIN, Rig, console_rig, csrf_token, post_form

PUBLIC = {"/login", "/welcome/{token}"}  # must answer a visitor who is not signed in
SAMPLE = {
    "contact_id": "1",
    "alert_id": "1",
    "question_id": "1",
    "token": "not-a-token",
    "flow_id": "checkin",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def console_routes(rig: Rig) -> list[tuple[str, str]]:
    """(path inside /console, method) for every route of the mounted console."""
    web = create_app(rig.app)
    mount = next(r for r in web.routes if isinstance(r, Mount) and r.path == "/console")
    found = []
    for route in mount.routes:
        if isinstance(route, Mount):
            assert isinstance(route.app, StaticFiles), f"{route.path}: only static files may mount"
            continue
        assert isinstance(route, Route), f"unexpected route type {type(route).__name__}"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((route.path, method))
    return found


def concrete(path: str) -> str:
    def sample(found: re.Match[str]) -> str:
        name = found.group(1)
        assert name in SAMPLE, f"{path}: give SAMPLE a value for the new parameter '{name}'"
        return SAMPLE[name]

    return re.sub(r"\{(\w+)(:\w+)?\}", sample, path)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        rig.staff(ADMIN, "admin")
        family = rig.family_writes("+12015550121", "hi", "SM-g1")
        with rig.app.ctx.db.begin() as db:  # a real question 1, so its routes could act
            db.add(m.Question(contact_id=family, text="?", asked_at=rig.clock.now))
        yield rig


def changes(rig: Rig) -> tuple[int | str, ...]:
    with rig.app.ctx.db() as db:
        return tuple(
            db.scalar(select(func.count()).select_from(model)) or 0
            for model in (m.AuditEntry, m.OutboundMessage, m.Contact, m.StaffSession, m.Consent)
        ) + tuple(db.scalars(select(m.Question.status)).all())


def test_the_route_list_is_real(rig: Rig) -> None:
    # the enumeration sees the pages a coach uses, so the checks below cannot pass on nothing
    routes = console_routes(rig)
    assert {("/alerts", "GET"), ("/families/{contact_id:row_id}/pause", "POST")} <= set(routes)
    assert len(routes) >= 20


def test_a_visitor_who_is_not_signed_in_gets_nothing_but_the_sign_in_pages(rig: Rig) -> None:
    visitor = rig.client()
    token = csrf_token(visitor)
    before = changes(rig)
    for path, method in console_routes(rig):
        if path in PUBLIC:
            continue
        url = "/console" + concrete(path)
        if method == "GET":
            answer = visitor.get(url)
            # sent to sign in, with the page they wanted kept for afterwards
            assert answer.status_code == 303, (path, answer.status_code)
            assert answer.headers["location"].startswith("/console/login?next="), path
        else:
            # even with a good CSRF token, a form post needs a signed-in staff member
            answer = visitor.request(method, url, data={"csrftoken": token})
            assert answer.status_code == 401, (path, method, answer.status_code)
    assert changes(rig) == before


def test_every_form_post_without_its_csrf_token_is_refused(rig: Rig) -> None:
    admin = rig.signed_in(ADMIN)
    before = changes(rig)
    posts = [(p, meth) for p, meth in console_routes(rig) if meth in UNSAFE]
    assert posts
    forged = "forged.token.value"
    for path, method in posts:
        url = "/console" + concrete(path)
        for data in ({}, {"csrftoken": forged}):
            answer = admin.request(method, url, data={**data, "confirm": "1", "text": "hi"})
            assert answer.status_code == 403, (path, method, data, answer.status_code)
            assert "security token" in answer.text
    # nothing happened: no pause, no message, no erasure, still signed in
    assert changes(rig) == before
    assert admin.get("/console/alerts").status_code == 200


def test_a_token_from_another_browser_is_refused(rig: Rig) -> None:
    admin, other = rig.signed_in(ADMIN), rig.client()
    stolen = csrf_token(other)  # valid, signed with our key, but not this browser's cookie
    answer = admin.post("/console/families/1/pause", data={"csrftoken": stolen})
    assert answer.status_code == 403
    # the page's own token works
    good = post_form(admin, "/console/families/1/pause", {}, "/console/alerts")
    assert good.status_code == 303


def test_pages_carry_headers_that_keep_them_private_and_unframed(rig: Rig) -> None:
    page = rig.signed_in(ADMIN).get("/console/alerts")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # and nothing on the page comes from another site
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


def test_an_id_no_row_can_have_is_no_page_never_a_500(rig: Rig) -> None:
    """Starlette's `int` took any digits and the database refused them (OverflowError): a 500 and
    a dropped connection for /console/families/9999999999999999999999999."""
    admin = rig.signed_in(ADMIN)
    big = "9" * 25
    before = changes(rig)
    for path, method in console_routes(rig):
        if "{" not in path:
            continue
        url = "/console" + re.sub(r"\{(\w+)(:\w+)?\}", big, path)
        if method == "GET":
            answer = admin.get(url)
        else:
            answer = admin.request(
                method, url, data={"csrftoken": csrf_token(admin, "/console/alerts")}
            )
        assert answer.status_code == 404, (path, method, answer.status_code)
    assert changes(rig) == before
