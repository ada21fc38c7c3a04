"""Staff accounts: `craftbot staff`, signing in and out, throttling, cookies, the audit log."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build
from bot.channels.base import InboundMessage
from bot.cli.main import main
from bot.console.accounts import Accounts
from bot.settings import ConfigError
from storage import models as m
from tests.console_rig import (
    ADMIN,
    COACH,
    FAST_HASHER,
    PASSWORD,
    Rig,
    console_rig,
    console_settings,
    csrf_token,
    post_form,
)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with console_rig(tmp_path) as rig:
        yield rig


def audit(rig: Rig, action: str) -> list[m.AuditEntry]:
    with rig.app.ctx.db() as db:
        return list(db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))


def staff_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["staff", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_staff_commands_add_list_link_and_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'staff.db'}")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://coach.example.org")
    # an admin with a password from standard input, a coach with a one-time link
    code, out, _ = staff_cli(
        monkeypatch, capsys, "add", "Admin@Example.org", "--role", "admin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "added admin admin@example.org" in out
    code, out, _ = staff_cli(monkeypatch, capsys, "add", COACH, "--role", "coach", "--link")
    assert code == 0
    assert re.search(r"https://coach\.example\.org/console/welcome/[\w-]{30,}", out)
    code, out, _ = staff_cli(monkeypatch, capsys, "list")
    assert re.search(r"admin@example\.org\s+admin\s+can sign in", out)
    assert re.search(r"coach@example\.org\s+coach\s+set-up link pending", out)
    # mistakes get one line saying what, and change nothing
    for args, stdin, says in (
        (("add", COACH, "--role", "coach"), PASSWORD, "already has an account"),
        (("add", "someone@example.org", "--role", "coach"), "short", "at least 12 characters"),
        (("add", "not-an-email", "--role", "coach"), PASSWORD, "is not an email address"),
        (("remove", "nobody@example.org"), "", "has no account"),
        (("link", "nobody@example.org"), "", "has no account"),
    ):
        code, _, err = staff_cli(monkeypatch, capsys, *args, stdin=stdin)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in err
    code, out, _ = staff_cli(monkeypatch, capsys, "link", COACH)
    assert code == 0 and "/console/welcome/" in out
    code, out, _ = staff_cli(monkeypatch, capsys, "remove", COACH)
    assert code == 0
    code, out, _ = staff_cli(monkeypatch, capsys, "list")
    assert COACH not in out and ADMIN in out


def test_accounts_link_to_the_crisis_alert_lists_by_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given alert lists in the settings, as the crisis alerts read them
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'staff.db'}")
    monkeypatch.setenv("STAFF_ALERT_SMS", "+1 201 555 0191, +12015550192")
    monkeypatch.setenv("STAFF_ALERT_EMAIL", "oncall@example.org")
    monkeypatch.setenv("ORG_CONTACT", "call 555-0100")
    # when a coach is added with the phone they are alerted at (typed another way)
    code, out, _ = staff_cli(
        monkeypatch,
        capsys,
        "add",
        COACH,
        "--role",
        "coach",
        "--link",
        "--alert-sms",
        "(201) 555-0191",
        "--alert-telegram",
        "12345",
    )
    assert code == 0
    # a Telegram chat on no list is linked, and the admin is told no alert goes there
    assert "note: 12345 is not on STAFF_ALERT_TELEGRAM, so no crisis alert goes there" in out
    code, out, _ = staff_cli(
        monkeypatch, capsys, "add", ADMIN, "--role", "admin", stdin=PASSWORD + "\n"
    )
    code, out, _ = staff_cli(monkeypatch, capsys, "alerts", ADMIN, "--alert-email", "OnCall@X.org")
    assert code == 0 and "note: OnCall@X.org is not on STAFF_ALERT_EMAIL" in out
    code, out, _ = staff_cli(
        monkeypatch, capsys, "alerts", ADMIN, "--alert-email", "OnCall@Example.org"
    )
    assert code == 0 and "note" not in out
    # then the list shows who is alerted where, and the list entries nobody is linked to
    code, out, _ = staff_cli(monkeypatch, capsys, "list")
    assert "alerted at sms +12015550191 (on STAFF_ALERT_SMS)" in out
    assert "alerted at telegram 12345 (not on STAFF_ALERT_TELEGRAM: no alert goes there)" in out
    assert "alerted at email oncall@example.org (on STAFF_ALERT_EMAIL)" in out
    assert "linked to no account:\n  sms +12015550192 (STAFF_ALERT_SMS)\n" in out
    # and a reply from an alert address names the account (the lookup crisis alerts use)
    app = build(channels={})
    try:
        accounts = Accounts(app.ctx.db, app.ctx.clock, FAST_HASHER)
        coach = accounts.alerted_at("sms", "+1 201-555-0191", "US")
        admin = accounts.alerted_at("email", "ONCALL@example.org", "US")
        assert coach is not None and coach.email == COACH
        assert admin is not None and admin.email == ADMIN
        assert accounts.alerted_at("sms", "+12015550192", "US") is None
        assert accounts.alerted_at("sms", "not a number", "US") is None
    finally:
        app.engine.dispose()
    # mistakes: one line each, nothing changed
    for args, says in (
        (("alerts", ADMIN, "--alert-sms", "+12015550191"), f"already linked to {COACH}"),
        (("alerts", COACH, "--alert-sms", "call me"), "--alert-sms: 'call me' is not a phone"),
        (("alerts", COACH, "--alert-telegram", "@sam"), "is not a Telegram chat id"),
        (("alerts", COACH), "give --alert-sms, --alert-email or --alert-telegram"),
        (("alerts", "nobody@example.org", "--alert-sms", "+12015550199"), "has no account"),
        (("add", "x@example.org", "--role", "coach", "--alert-sms", "12"), "not a phone"),
    ):
        code, _, err = staff_cli(monkeypatch, capsys, *args, stdin=PASSWORD)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, (args, err)
    code, out, _ = staff_cli(monkeypatch, capsys, "list")
    assert "x@example.org" not in out  # the add with a bad address added nothing
    # an empty address clears the link
    code, out, _ = staff_cli(monkeypatch, capsys, "alerts", COACH, "--alert-sms", "")
    assert code == 0
    code, out, _ = staff_cli(monkeypatch, capsys, "list")
    assert "alerted at sms" not in out and "  sms +12015550191 (STAFF_ALERT_SMS)" in out


def test_a_one_time_link_sets_the_password_once(rig: Rig) -> None:
    _, token = rig.accounts.add(COACH, "coach", None)
    assert token
    browser = rig.client()
    page = browser.get(f"/console/welcome/{token}")
    assert page.status_code == 200 and COACH in page.text
    # two different passwords: refused, the link still works
    answer = post_form(
        browser,
        f"/console/welcome/{token}",
        {"password": PASSWORD, "again": "something else entirely"},
        f"/console/welcome/{token}",
    )
    assert answer.status_code == 400 and "differ" in answer.text
    answer = post_form(
        browser,
        f"/console/welcome/{token}",
        {"password": PASSWORD, "again": PASSWORD},
        f"/console/welcome/{token}",
    )
    assert answer.status_code == 303
    # the link is spent; the password signs in
    assert browser.get(f"/console/welcome/{token}").status_code == 404
    assert rig.signed_in(COACH).get("/console/alerts").status_code == 200


def test_wrong_passwords_are_recorded_and_then_throttled(rig: Rig) -> None:
    rig.staff(COACH)
    browser = rig.client()
    for _ in range(5):
        wrong = post_form(browser, "/console/login", {"email": COACH, "password": "guess" * 3})
        assert wrong.status_code == 401 and "do not match" in wrong.text
    assert len(audit(rig, "login.failed")) == 5
    # now even the right password waits (the window is 15 minutes)
    right = post_form(browser, "/console/login", {"email": COACH, "password": PASSWORD})
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    assert not audit(rig, "login")
    # an unknown email gets the same answer as a wrong password
    unknown = post_form(browser, "/console/login", {"email": "x@example.org", "password": "p" * 12})
    assert unknown.status_code == 401 and "do not match" in unknown.text


def test_the_session_cookie_is_httponly_samesite_and_ends_on_sign_out(rig: Rig) -> None:
    rig.staff(COACH)
    browser = rig.client()
    answer = post_form(
        browser, "/console/login", {"email": COACH, "password": PASSWORD, "next": "/families"}
    )
    assert answer.headers["location"] == "/console/families"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "craftbot_staff" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; see the HTTPS test below
    copied = rig.client()
    copied.cookies.set("craftbot_staff", browser.cookies["craftbot_staff"])
    assert copied.get("/console/alerts").status_code == 200
    # signing out ends the session on the server, not only in this browser
    assert post_form(browser, "/console/logout", {}, "/console/alerts").status_code == 303
    assert copied.get("/console/alerts").status_code == 303
    assert [e.action for e in audit(rig, "logout")] == ["logout"]


def test_removing_an_account_ends_its_sessions_at_once(rig: Rig) -> None:
    rig.staff(COACH)
    browser = rig.signed_in(COACH)
    assert browser.get("/console/alerts").status_code == 200
    assert rig.accounts.remove(COACH)
    assert browser.get("/console/alerts").status_code == 303


def test_sign_in_never_sends_anyone_off_the_console(rig: Rig) -> None:
    rig.staff(COACH)
    for target in ("//evil.example.org/x", "https://evil.example.org", "/\\evil.example.org"):
        answer = post_form(
            rig.client(), "/console/login", {"email": COACH, "password": PASSWORD, "next": target}
        )
        assert answer.headers["location"].startswith("/console/"), target


def test_behind_https_the_cookies_are_secure(tmp_path: Path) -> None:
    with console_rig(tmp_path, public_base_url="https://coach.example.org") as rig:
        rig.staff(COACH)
        browser = rig.client()
        page = browser.get("/console/login")
        assert "Secure" in page.headers["set-cookie"]
        # httpx keeps Secure cookies off plain http, as a browser would: send it by hand
        token = csrf_token(browser)
        answer = browser.post(
            "/console/login",
            data={"email": COACH, "password": PASSWORD, "csrftoken": token},
            headers={"cookie": f"craftbot_csrf={token}"},
        )
        cookies = answer.headers.get_list("set-cookie")
        assert any("craftbot_staff" in c and "Secure" in c for c in cookies), cookies


def test_the_console_will_not_start_without_its_key(tmp_path: Path) -> None:
    settings = console_settings(f"sqlite:///{tmp_path / 'x.db'}", console_secret_key="short")
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY"):
        build(settings, channels={})


def test_an_ack_from_a_linked_phone_is_recorded_as_its_account(tmp_path: Path) -> None:
    on_call, other = "+12015550193", "+12015550194"
    with console_rig(tmp_path, staff_alert_sms=f"{on_call}, {other}") as rig:
        # given a coach whose account carries the on-call phone (typed another way)
        rig.staff(COACH)
        rig.accounts.link_alerts(COACH, {"sms": "(201) 555-0193"}, "US")
        overdose = "my son took too many pills and won't wake up"
        rig.family_writes("+12015550165", overdose, "SM-l1")
        rig.family_writes("+12015550166", overdose, "SM-l2")
        first, second = (a.id for a in sorted(rig.app.runtime.alerts(None, 10), key=lambda a: a.id))
        # when the coach's phone and a phone no account carries reply ACK
        for n, (phone, alert_id) in enumerate(((on_call, first), (other, second))):
            rig.app.runtime.handle_inbound(InboundMessage("sms", phone, f"ACK {alert_id}", f"S{n}"))
        # then the console names the coach for the first, and the bare number for the other
        page = rig.signed_in(COACH).get(f"/console/alerts/{first}").text
        assert f"Acknowledged by {COACH} (sms)" in page
        taken = {a.id: a.acknowledged_by for a in rig.app.runtime.alerts(None, 10)}
        assert taken == {first: COACH, second: f"sms {other}"}


def test_a_new_set_up_link_lets_a_throttled_coach_back_in(rig: Rig) -> None:
    """The throttled page says "wait 15 minutes, or ask an admin for a new set-up link"; the
    coach did, set a new password, and was still told to wait."""
    rig.staff(COACH)
    browser = rig.client()
    for _ in range(5):
        post_form(browser, "/console/login", {"email": COACH, "password": "guess" * 3})
    throttled = post_form(browser, "/console/login", {"email": COACH, "password": PASSWORD})
    assert throttled.status_code == 429 and "ask an admin for a new set-up link" in throttled.text
    token = rig.accounts.issue_link(COACH)
    page = f"/console/welcome/{token}"
    fresh = "a brand new password, this time"
    answer = post_form(browser, page, {"password": fresh, "again": fresh}, page)
    assert answer.status_code == 303
    back_in = post_form(browser, "/console/login", {"email": COACH, "password": fresh})
    assert back_in.status_code == 303, back_in.text[:300]


def test_signing_in_again_returns_to_the_page_with_its_query(rig: Rig) -> None:
    """A search or a saved answer chosen is in the page's address: the sign-in sent the coach
    back to /families without "?q=Ana", an empty search."""
    rig.staff(COACH)
    browser = rig.client()
    answer = browser.get("/console/families", params={"q": "Ana Ruiz"})
    assert answer.status_code == 303
    login = browser.get(answer.headers["location"])
    next_field = re.search(r'name="next" value="([^"]*)"', login.text)
    assert next_field and html.unescape(next_field.group(1)) == "/families?q=Ana+Ruiz"
    signed = post_form(
        browser,
        "/console/login",
        {"email": COACH, "password": PASSWORD, "next": html.unescape(next_field.group(1))},
    )
    assert signed.headers["location"] == "/console/families?q=Ana+Ruiz"
