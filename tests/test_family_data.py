"""A family's own data (docs/privacy.md): MYDATA's link and attachment, DELETE over every table,
the hashed opt-out left behind, and staff doing the same from the CLI, audited. End to end on
uvicorn and the provider stand-ins, with the real SDKs."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from bot.cli.main import main as craftbot
from bot.runtime.admin import EnrollError, Enrollment, enroll
from bot.settings import Settings
from bot.simulation import Harness
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from storage.queries.family_data import ERASED, KEPT, SCRUBBED
from tests.e2e import Family, Providers, Stack, running_stack

pytestmark = pytest.mark.usefixtures("program_loaded_once")
LINK = re.compile(r"https?://\S+/mydata/\S+")


def test_every_table_is_erased_scrubbed_or_kept() -> None:
    # A new table must say what erasing a family does to it (storage/queries/family_data.py).
    named = [*ERASED, *SCRUBBED, *KEPT]
    assert len(named) == len(set(named))
    assert set(named) == set(m.Base.metadata.tables)


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


@pytest.fixture(scope="module")
def stack(providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(providers, tmp_path_factory.mktemp("privacy")) as running:
        yield running


def joined(stack: Stack, channel: str, address: str, loved_one: str, name: str = "Maria") -> Family:
    send = {
        "sms": lambda text: stack.sms(address, text),
        "email": lambda text: stack.email(address, text),
    }[channel]
    family = Family(stack, channel, address, send)
    for text in ("hi", "yes", name, "1", "no", loved_one, "eastern", "9am", "7pm"):
        family.say(text)
    assert family.news() == [] and stack.contact(channel, address) is not None
    return family


def rows_about(stack: Stack, contact_id: int) -> dict[str, int]:
    """How many rows of each erased table still belong to the family."""
    out: dict[str, int] = {}
    with stack.app.ctx.db() as db:
        for name in ERASED:
            table = m.Base.metadata.tables[name]
            column = table.c.get("contact_id")
            if column is None:
                column = table.c.get("id") if name == "contacts" else None
            if column is None:  # alert notes and notices belong to the family through its alerts
                continue
            out[name] = int(db.scalar(select(func.count()).where(column == contact_id)) or 0)
    return out


def test_mydata_by_sms_sends_a_link_that_works_once(stack: Stack) -> None:
    # given a family who told us about Jake and answered a check-in in their own words
    family = joined(stack, "sms", "+15550141", "Jake")
    family.say("ASK is it normal that Jake sleeps all day?")
    # when they text MYDATA
    assert family.say("MYDATA") == ["privacy.mydata", "privacy.mydata_link"]
    found = LINK.search(family.last_text())
    assert found, family.last_text()
    path = httpx.URL(found.group(0)).path
    # then opening the link shows a button and uses nothing (a link preview may open it)
    page = stack.http.get(path)
    assert page.status_code == 200 and "Download my data" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert stack.http.get(path).status_code == 200
    # and the button gives everything kept, as a file, once
    got = stack.http.post(path)
    assert got.status_code == 200
    assert "craftbot-my-data.json" in got.headers["content-disposition"]
    data = got.json()
    assert data["profile"]["loved_one"] == "Jake" and data["profile"]["address"] == "+15550141"
    assert "MYDATA" in [m_["text"] for m_ in data["messages_from_you"]]
    sent = [m_["text"] for m_ in data["messages_to_you"]]
    assert any("Jake" in text for text in sent)
    assert [c["action"] for c in data["consents"]] == ["consent"]
    assert stack.http.post(path).status_code == 404
    assert stack.http.get(path).status_code == 404
    # a made-up link is the same 404
    assert stack.http.post("/mydata/not-a-real-token").status_code == 404


def test_mydata_by_email_attaches_the_data_through_sendgrid(stack: Stack) -> None:
    family = joined(stack, "email", "rosa.data@example.org", "Miguel")
    assert family.say("MYDATA") == ["privacy.mydata", "privacy.mydata_attached"]
    mail = stack.received("email", "rosa.data@example.org")[-1]
    assert "/mydata/" not in mail["text"]
    [attached] = mail["raw"]["attachments"]
    assert attached["filename"] == "craftbot-my-data.json"
    assert attached["type"] == "application/json" and attached["disposition"] == "attachment"
    data = json.loads(base64.b64decode(attached["content"]))
    assert data["profile"]["loved_one"] == "Miguel"
    assert data["profile"]["address"] == "rosa.data@example.org"


def test_delete_erases_every_table_keeps_only_the_hashed_opt_out(stack: Stack) -> None:
    # given a family with a conversation, a check-in, a crisis alert and its staff notices
    address = "+15550142"
    family = joined(stack, "sms", address, "Quincy", name="Paloma")
    contact = stack.contact("sms", address)
    assert contact is not None
    family.until("checkin")
    family.say("1")
    family.say("he took too many pills and won't wake up")
    family.say("MYDATA")
    before = rows_about(stack, contact.id)
    assert before["alerts"] == 1 and before["checkins"] == 1 and before["data_requests"] == 1
    # when they text DELETE and say no, nothing changes
    assert family.say("DELETE") == ["privacy.delete_confirm"]
    assert family.say("no") == ["privacy.delete_kept"]
    assert stack.contact("sms", address) is not None
    # when they text DELETE and say yes
    family.say("DELETE")
    assert family.say("YES") == ["privacy.deleted"]
    assert "erased" in family.last_text()
    # then no row of any erased table is theirs, the goodbye row kept neither words nor address
    assert set(rows_about(stack, contact.id).values()) == {0}
    with stack.app.ctx.db() as db:
        assert db.scalar(select(func.count()).select_from(m.AlertNotice)) == 0
        assert db.scalar(select(func.count()).select_from(m.AlertNote)) == 0
        erased = db.execute(select(m.ErasedAddress)).scalars().all()
        goodbye = db.execute(
            select(m.OutboundMessage).where(m.OutboundMessage.message_id == "privacy.deleted")
        ).scalar_one()
    assert [(e.channel, e.by) for e in erased] == [("sms", "self")]
    assert address not in erased[0].address_hash and len(erased[0].address_hash) == 64
    assert goodbye.status == "sent" and goodbye.address == "" and goodbye.text == ""
    # and nothing in the database file names them any more
    raw = sqlite_bytes(stack)
    for trace in (address.encode(), b"Quincy", b"too many pills", b"Paloma"):
        assert trace not in raw, trace
    # and writing again is a newcomer's first message
    assert family.say("hi") == ["onboarding.consent"]


def test_an_erased_email_address_cannot_be_enrolled_again(stack: Stack) -> None:
    # given a family by email who erased everything
    address = "lee.erased@example.org"
    family = joined(stack, "email", address, "Jo")
    family.say("DELETE")
    assert family.say("yes") == ["privacy.deleted"]
    assert stack.contact("email", address) is None
    # then an organisation enrolling the address again is refused; the person can write again
    with pytest.raises(EnrollError, match="asked for their data to be erased"):
        enroll(stack.app.ctx, Enrollment("email", address, name="Lee"))
    assert stack.contact("email", address) is None
    assert family.say("hello") == ["onboarding.consent"]


def sqlite_bytes(stack: Stack) -> bytes:
    """The database as a dump would read it: every table's rows, checkpointed from the WAL."""
    path = stack.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        lines = "\n".join(raw.iterdump())
    return lines.encode()


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, url: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        return craftbot(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_staff_export_and_delete_from_the_cli_are_audited(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    address = "+15550143"
    joined(stack, "sms", address, "Sam")
    contact = stack.contact("sms", address)
    assert contact is not None
    url = stack.settings.database_url
    out = tmp_path / "family.json"
    # export: the same file MYDATA gives
    assert (
        run(
            ["family", "export", str(contact.id), "--by", "Lee", "--out", str(out)],
            monkeypatch,
            url,
        )
        == 0
    )
    assert json.loads(out.read_text())["profile"]["loved_one"] == "Sam"
    # delete needs --yes, and says why in one line
    capsys.readouterr()
    assert run(["family", "delete", str(contact.id), "--by", "Lee"], monkeypatch, url) == 2
    err = capsys.readouterr().err
    assert "add --yes" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert run(["family", "delete", str(contact.id), "--by", "Lee", "--yes"], monkeypatch, url) == 0
    assert stack.contact("sms", address) is None
    # a family that is not there is one line, exit 2
    assert run(["family", "delete", str(contact.id), "--by", "Lee", "--yes"], monkeypatch, url) == 2
    assert f"there is no family {contact.id}" in capsys.readouterr().err
    with stack.app.ctx.db() as db:
        audit = db.execute(
            select(m.AuditEntry.action, m.AuditEntry.staff_email, m.AuditEntry.detail).where(
                m.AuditEntry.target == "family", m.AuditEntry.target_id == str(contact.id)
            )
        ).all()
        by = db.scalar(select(m.ErasedAddress.by).order_by(m.ErasedAddress.id.desc()))
    assert [tuple(a) for a in audit] == [
        ("family.export", "Lee", ""),  # erasing clears the details of the family's entries
        ("family.delete", "Lee", "via cli"),
    ]
    assert by == "staff"


def test_delete_after_a_crisis_with_staff_told_leaves_nothing_of_the_family(db_url: str) -> None:
    # given, on SQLite and PostgreSQL, a family whose crisis alert was sent to three staff
    # addresses, and who asked a coach a question and texted MYDATA
    settings = Settings(
        database_url=db_url,
        staff_alert_sms="+15550190",
        staff_alert_email="oncall@example.org",
        staff_alert_telegram="5550191",
        org_contact="call 555-0100",
    )
    engine = make_engine(db_url)
    upgrade(engine)  # SQLite does this itself; PostgreSQL has the release step
    engine.dispose()
    h = Harness(settings, datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")))
    try:
        for text in ("hi", "yes", "Paloma", "1", "no", "Quincy", "eastern", "9am", "7pm"):
            h.say(text)
        h.say("he took too many pills and won't wake up")
        h.say("MYDATA")
        family = h.contact()
        assert family is not None
        with h.app.ctx.db() as db:
            assert db.scalar(select(func.count()).select_from(m.AlertNotice)) == 3
            staff_rows = db.scalar(
                select(func.count()).where(m.OutboundMessage.contact_id.is_(None))
            )
        # when they text DELETE and confirm
        h.say("DELETE")
        assert [s.message_id for s in h.say("yes")] == ["privacy.deleted"]
        # then every table holds nothing of them, the staff notices included
        with h.app.ctx.db() as db:
            for name in ERASED:
                table = m.Base.metadata.tables[name]
                assert db.scalar(select(func.count()).select_from(table)) == (
                    1 if name == "outbound_messages" else 0  # the goodbye, no address or words
                ), name
            goodbye = db.execute(select(m.OutboundMessage)).scalar_one()
            erased = db.execute(select(m.ErasedAddress)).scalar_one()
        assert staff_rows == 3
        assert (goodbye.contact_id, goodbye.address, goodbye.text) == (None, "", "")
        assert erased.channel == "sms" and family.address not in erased.address_hash
    finally:
        h.close()
