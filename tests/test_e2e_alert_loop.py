"""The human loop end to end: uvicorn, the real SDKs, the provider stand-ins, the `craftbot` CLI.

A crisis at 2 a.m., in quiet hours, on each channel: the family's reply reaches its provider
first, then the notices reach on-call staff. Nobody acknowledges: `craftbot tick --at` ten minutes
later (the clock moved) sends the backup list its notice, and the family nothing. A staff member
replies ACK on the same channel: `craftbot alerts list` shows the alert acknowledged, and later
ticks tell nobody again. With nobody on call, no reply claims that a person knows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.cli.main import main
from storage import models as m
from storage.queries import outbox as outbox_sql
from tests.e2e import Providers, Stack, running_stack

TWO_AM = datetime(2026, 3, 3, 2, 0, tzinfo=ZoneInfo("America/New_York"))
FAMILY = {"sms": "+15550131", "telegram": "5550131", "email": "rosa@example.org"}
ON_CALL = {"sms": "+15550191", "telegram": "5550191", "email": "oncall@example.org"}
BACKUP = {"sms": "+15550192", "email": "backup@example.org"}
STAFFED = {
    "staff_alert_sms": ON_CALL["sms"],
    "staff_alert_telegram": ON_CALL["telegram"],
    "staff_alert_email": ON_CALL["email"],
    "staff_backup_sms": BACKUP["sms"],
    "staff_backup_email": BACKUP["email"],
    "org_contact": "call 555-0100",
}


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


@pytest.fixture
def staffed(providers: Providers, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(providers, tmp_path, start=TWO_AM, **STAFFED) as stack:
        yield stack


@pytest.fixture
def unstaffed(providers: Providers, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(providers, tmp_path, start=TWO_AM) as stack:
        yield stack


def write(stack: Stack, channel: str, address: str, text: str) -> None:
    if channel == "sms":
        answer = stack.sms(address, text)
    elif channel == "telegram":
        answer = stack.telegram(int(address), text)
    else:
        answer = stack.email(address, text)
    assert answer.status_code == 200, answer.text
    stack.settle()


def arrivals(stack: Stack) -> list[tuple[int, str, str, str]]:
    """(when, channel, address, text) of everything every provider accepted, in arrival order."""
    p = stack.providers
    found = []
    for ns, item in p.twilio.arrivals:
        found.append((ns, "sms", item["to"], item["body"]))
    for ns, item in p.telegram.arrivals:
        found.append((ns, "telegram", str(item["chat_id"]), item["text"]))
    for ns, item in p.sendgrid.arrivals:
        for to in item["to"]:
            found.append((ns, "email", to, item["text"]))
    return sorted(found)


def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str) -> str:
    """A `craftbot` command run the way an admin runs it: the same settings, from the
    environment, against the same database and providers as the running web app."""
    for name, value in stack.settings.model_dump(by_alias=True).items():
        env = name.upper()
        if value in ("", None):
            monkeypatch.delenv(env, raising=False)
        else:
            monkeypatch.setenv(env, str(value))
    capsys.readouterr()
    assert main(list(args)) == 0
    out: str = capsys.readouterr().out
    return out


@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_a_2am_crisis_reaches_the_family_first_escalates_unanswered_and_stops_at_ack(
    staffed: Stack, channel: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    stack, family = staffed, FAMILY[channel]
    # when, at 2 a.m. in the family's quiet hours, they write about an overdose
    write(stack, channel, family, "he's not breathing")
    stack.settle()
    seen = arrivals(stack)
    # then the family's emergency reply reached its provider before any staff notice
    to_family = [a for a in seen if a[2] == family]
    to_staff = [a for a in seen if a[2] in ON_CALL.values()]
    assert to_family[0][3].startswith("Call 911 now")
    assert sorted(a[2] for a in to_staff) == sorted(ON_CALL.values())
    assert to_family[0][0] < min(a[0] for a in to_staff)
    [alert] = _alerts(stack, monkeypatch, capsys)
    assert alert["status"] == "open" and alert["staff_told"]
    assert all(f"Reply ACK {alert['id']}" in a[3] for a in to_staff)

    # when nobody acknowledges: nine minutes later nothing; at ten, the backup list
    tick(stack, monkeypatch, capsys, TWO_AM + timedelta(minutes=9))
    assert arrivals(stack) == seen
    tick(stack, monkeypatch, capsys, TWO_AM + timedelta(minutes=10))
    new = arrivals(stack)[len(seen) :]
    assert sorted(a[2] for a in new) == sorted(BACKUP.values())
    assert all("told as backup" in a[3] for a in new)
    assert not [a for a in new if a[2] == family]  # escalation never reaches the family

    # when the on-call person on this channel replies ACK
    mark = len(arrivals(stack))
    stack.clock.now = TWO_AM + timedelta(minutes=12)
    write(stack, channel, ON_CALL[channel], f"ACK {alert['id']}")
    [answer] = arrivals(stack)[mark:]
    assert answer[2] == ON_CALL[channel] and "is acknowledged by you" in answer[3]
    # then `craftbot alerts list` shows it acknowledged, by phone, and nobody is told again
    [taken] = _alerts(stack, monkeypatch, capsys)
    assert (taken["status"], taken["acknowledged_via"]) == ("acknowledged", channel)
    assert taken["acknowledged_by"] == f"{channel} {ON_CALL[channel]}"
    quiet = len(arrivals(stack))
    tick(stack, monkeypatch, capsys, TWO_AM + timedelta(hours=1))
    assert len(arrivals(stack)) == quiet


def _alerts(stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> list[dict[str, Any]]:
    out = cli(stack, monkeypatch, capsys, "alerts", "list", "--format", "jsonl")
    return [json.loads(line) for line in out.splitlines()]


def tick(stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any, at: datetime) -> None:
    """The clock moves, and `craftbot tick --at` does one pass as the worker would."""
    stack.clock.now = at
    out = cli(stack, monkeypatch, capsys, "tick", "--at", at.isoformat())
    assert json.loads(out)["failed"] == 0


@pytest.mark.parametrize("channel", ["sms", "telegram", "email"])
def test_with_nobody_on_call_no_reply_claims_that_a_person_knows(
    unstaffed: Stack, channel: str
) -> None:
    write(unstaffed, channel, FAMILY[channel], "he's not breathing")
    texts = [a[3] for a in arrivals(unstaffed)]
    assert len(texts) == 1 and texts[0].startswith("Call 911 now")
    for words in ("has been told", "will reach out", "knows", "our team"):
        assert words not in texts[0].lower()


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_crisis_reply_reported_undelivered_later_reaches_staff_at_once(
    staffed: Stack, channel: str
) -> None:
    """The provider took the family's crisis reply, then its report said it never arrived
    (Twilio's status callback "undelivered", SendGrid's "bounce"): the on-call list hears of it
    right after the report is answered, not only when a send is refused."""
    stack, family = staffed, FAMILY[channel]
    write(stack, channel, family, "he's not breathing")
    reply = [r for r in stack.outbox(address=family) if r.kind == "crisis"][0]
    assert reply.status == "sent" and reply.provider_id
    mark = len(arrivals(stack))

    # when the provider reports the reply undelivered, and repeats its report
    for _ in range(2):
        if channel == "sms":
            answer = stack.twilio_status(reply.provider_id, "undelivered", family, "30003")
        else:
            bounce = {
                "email": family,
                "event": "bounce",
                "reason": "550 5.1.1 mailbox unavailable",
                "sg_event_id": "ev-bounce-1",
                "sg_message_id": f"{reply.provider_id}.filter0001",
                "outbox_id": str(reply.id),
                "timestamp": 1772463600,
            }
            answer = stack.sendgrid_events([bounce])
        assert answer.status_code in (200, 204)
        stack.settle()

    # then every on-call address was told once, in an urgent notice, with no tick in between
    told = arrivals(stack)[mark:]
    assert sorted(a[2] for a in told) == sorted(ON_CALL.values())
    assert all("(urgent)" in a[3] and "could NOT be delivered" in a[3] for a in told)
    assert not [a for a in told if a[2] == family]
    assert stack.outbox(id=reply.id)[0].status == "failed"


def test_a_crisis_reply_reported_undelivered_before_its_send_is_recorded_reaches_staff(
    staffed: Stack,
) -> None:
    """Twilio can report a message failed before our worker has recorded its send (a Messaging
    Service fails a blocked number within moments; the recorder commits in batches). The report
    named our row in its callback URL, but the row knew no MessageSid yet: the report was used
    up on nothing, the send was then recorded as "sent", and nobody heard that the family's
    crisis reply never arrived."""
    stack, family = staffed, FAMILY["sms"]
    write(stack, "sms", family, "he's not breathing")
    reply = [r for r in stack.outbox(address=family) if r.kind == "crisis"][0]
    [sent] = [g for g in stack.received("sms", family) if g["id"] == reply.provider_id]
    mark = len(arrivals(stack))

    # given the reply's send not recorded yet: in flight, its MessageSid unknown
    with stack.app.ctx.db.begin() as db:
        db.execute(
            update(m.OutboundMessage)
            .where(m.OutboundMessage.id == reply.id)
            .values(provider_id=None, status="sending", sent_at=None)
        )

    # when Twilio's callback says it failed, and then the worker records the send
    answer = stack.twilio_status(
        str(reply.provider_id), "failed", family, "30005", url=sent["status_callback"]
    )
    with stack.app.ctx.db.begin() as db:
        outbox_sql.mark_sent(db, [{"row_id": reply.id, "provider_id": reply.provider_id}], TWO_AM)
    stack.settle()

    # then the reply stays failed, and every on-call address heard of it
    assert answer.status_code == 204
    [row] = stack.outbox(id=reply.id)
    assert (row.status, row.reason) == ("failed", "failed")
    told = arrivals(stack)[mark:]
    assert sorted(a[2] for a in told) == sorted(ON_CALL.values())
    assert all("could NOT be delivered" in a[3] for a in told)


def test_a_staff_phone_that_writes_first_is_never_a_family(staffed: Stack) -> None:
    write(staffed, "telegram", ON_CALL["telegram"], "/start")
    [answer] = arrivals(staffed)
    assert "not signed up as a family" in answer[3]
    assert staffed.contact("telegram", ON_CALL["telegram"]) is None


def test_the_cli_runs_as_a_real_process(staffed: Stack) -> None:
    """`craftbot alerts list` from a shell, as an admin types it (the in-process runs above are
    the same code; this is the installed script)."""
    write(staffed, "sms", FAMILY["sms"], "he's not breathing")
    env = {**os.environ, "DATABASE_URL": staffed.settings.database_url}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("craftbot")), "alerts", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "open" in done.stdout and "urgent" in done.stdout and "overdose" in done.stdout
