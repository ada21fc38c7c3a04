"""`craftbot tick --at` drives a week of a family's program; `craftbot worker` ticks and stops
cleanly.

Both run as real subprocesses on a temporary SQLite file and send through the local Twilio stand-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest
from sqlalchemy import select

from bot.app import build
from bot.channels.base import InboundMessage
from bot.cli.main import main
from bot.runtime.admin import WELCOME, Enrollment, enroll
from bot.settings import Settings
from storage import models as m
from tests.standins.twilio_api import TwilioStandin

NEW_YORK = ZoneInfo("America/New_York")
FAMILY = "+12025550123"  # a fictional number: 555-01xx with an area code
ANSWERS = {"1": "non_use", "2": "use", "3": "unsure"}


@pytest.fixture
def twilio() -> Iterator[TwilioStandin]:
    server = TwilioStandin().start()
    yield server
    server.stop()


def env_for(db: Path, twilio: TwilioStandin, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CRAFTBOT_PROGRAM_DIR")}
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{db}",
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": "+15550100",
        "TWILIO_API_BASE_URL": twilio.url,
        **extra,
    }


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(
        database_url=env["DATABASE_URL"],
        twilio_account_sid=env["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=env["TWILIO_AUTH_TOKEN"],
        twilio_from_number=env["TWILIO_FROM_NUMBER"],
        twilio_api_base_url=env["TWILIO_API_BASE_URL"],
        sms_rate_per_s=float(env.get("SMS_RATE_PER_S", 1.0)),
    )


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=NEW_YORK).astimezone(UTC)


def tick_process(env: dict[str, str], at: datetime) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "tick", "--at", at.isoformat().replace("+00:00", "Z")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def tick_here(
    env: dict[str, str],
    at: datetime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> dict[str, int]:
    """The same command, run in this process (start-up paid once) with the same environment."""
    with monkeypatch.context() as patched:
        patched.delenv("CRAFTBOT_PROGRAM_DIR", raising=False)
        for key in ("DATABASE_URL", *(k for k in env if k.startswith(("TWILIO_", "SMS_")))):
            patched.setenv(key, env[key])
        capsys.readouterr()
        assert main(["tick", "--at", at.isoformat().replace("+00:00", "Z")]) == 0
        report: dict[str, int] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return report


# The days cron's tick runs as a real process: the first (the welcome and the first lesson) and
# the first after DST starts; the other days run the same command in this process.
PROCESS_DAYS = (0, 5)


def test_tick_at_drives_a_week_of_lessons_and_checkins(
    tmp_path: Path,
    twilio: TwilioStandin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a family in New York enrolled on Tuesday 3 March 2026 at 07:00, lessons 09:00, check-ins
    # 19:00
    # (at a quick pace: a week's schedule is asserted here, the channel's pace in test_shared_pace)
    env = env_for(tmp_path / "week.db", twilio, SMS_RATE_PER_S="50")
    first = date(2026, 3, 3)
    app = build(settings_for(env), clock=lambda: now)
    now = local(first, "07:00")
    enroll(app.ctx, Enrollment("sms", FAMILY, timezone="America/New_York"), now)
    given: list[str] = []
    loop = asyncio.new_event_loop()  # one loop for the in-process app: its HTTP client lives on it
    try:
        # when cron runs `craftbot tick --at` after each due time for a week (DST starts on 8
        # March),
        # and the family answers every check-in at 19:30
        def here(env: dict[str, str], at: datetime) -> dict[str, int]:
            return tick_here(env, at, monkeypatch, capsys)

        for offset in range(7):
            day = first + timedelta(days=offset)
            tick = tick_process if offset in PROCESS_DAYS else here
            # the first day's lesson follows the welcome queued at enrolment (held by quiet
            # hours until 08:00), the second day's brings the safety question with it (issue 16)
            assert tick(env, local(day, "09:05"))["sent"] == (2 if offset in (0, 1) else 1)
            assert tick(env, local(day, "19:05"))["sent"] == 1
            now = local(day, "19:30")
            answer = str(offset % 3 + 1)
            app.runtime.handle_inbound(
                InboundMessage("sms", FAMILY, answer, f"SM-week-{offset}"), now
            )
            given.append(ANSWERS[answer])
            loop.run_until_complete(app.dispatcher.drain(now))
        with app.ctx.db() as db:
            sent = list(
                db.scalars(
                    select(m.OutboundMessage)
                    .where(m.OutboundMessage.status == "sent")
                    .order_by(m.OutboundMessage.id)
                )
            )
            recorded = list(db.scalars(select(m.Checkin.value).order_by(m.Checkin.id)))
    finally:
        loop.run_until_complete(app.aclose())
        loop.close()
    # then there were 7 lessons at 09:05 and 7 check-ins at 19:05, one of each on each local day
    lessons = [r for r in sent if r.message_id.startswith("lesson.")]
    asked = [r for r in sent if r.message_id == "checkin.question"]
    assert [
        r.sent_at.astimezone(NEW_YORK).strftime("%m-%d %H:%M") for r in lessons if r.sent_at
    ] == [f"03-{d:02d} 09:05" for d in range(3, 10)]
    assert [r.sent_at.astimezone(NEW_YORK).strftime("%m-%d %H:%M") for r in asked if r.sent_at] == [
        f"03-{d:02d} 19:05" for d in range(3, 10)
    ]
    assert len({r.message_id for r in lessons}) == 7  # the program moved on every day
    # and every answer was recorded, and each got its reply
    assert recorded == given
    [safety] = [r for r in sent if r.message_id == "safety.ask"]
    assert safety.sent_at and f"{safety.sent_at.astimezone(NEW_YORK):%m-%d %H:%M}" == "03-04 09:05"
    # the welcome went first, with the first morning's tick
    welcome = sent[0]
    assert welcome.message_id == WELCOME and welcome.sent_at
    assert f"{welcome.sent_at.astimezone(NEW_YORK):%m-%d %H:%M}" == "03-03 09:05"
    replies = [r for r in sent[1:] if r not in lessons and r not in asked and r is not safety]
    assert {
        r.sent_at.astimezone(NEW_YORK).strftime("%m-%d %H:%M") for r in replies if r.sent_at
    } == {f"03-{d:02d} 19:30" for d in range(3, 10)}
    # and the provider got exactly what the outbox says was sent
    assert sorted(r["body"] for r in twilio.received) == sorted(r.text for r in sent)


CLEAR_HOURS = (10, 11)


def zone_at_midday(now: datetime) -> str:
    """A fixed-offset zone where it is now 10:00-12:00: no quiet hours in the way, and before the
    13:00 self-care nudge (a later hour would make today's nudge due as well)."""
    for hours in range(-12, 15):
        name = f"Etc/GMT{-hours:+d}" if hours else "Etc/UTC"
        if name in available_timezones() and now.astimezone(ZoneInfo(name)).hour in CLEAR_HOURS:
            return name
    raise AssertionError(f"no zone has midday at {now.isoformat()}")


def test_worker_ticks_sends_the_due_lesson_and_stops_on_sigterm(
    tmp_path: Path, twilio: TwilioStandin
) -> None:
    # given the Procfile worker running on an empty database, ticking every 0.5 s
    env = env_for(tmp_path / "worker.db", twilio, TICK_SECONDS="0.5")
    app = build(
        settings_for(env), channels={}
    )  # migrates the SQLite file before the worker opens it
    log = tmp_path / "worker.log"
    with log.open("wb") as errors:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + 60
        while (
            "worker running" not in log.read_text()
            and worker.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert "worker running" in log.read_text(), log.read_text()[-2000:]
        # when a family is enrolled whose lesson was due a minute ago (so a later tick must find it)
        real_now = datetime.now(UTC)
        zone = zone_at_midday(real_now)
        lesson_time = (real_now - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).strftime("%H:%M")
        enroll(
            app.ctx,
            Enrollment("sms", FAMILY, timezone=zone, lesson_time=lesson_time, checkin_time="23:00"),
            real_now,
        )
        status = None
        while time.monotonic() < deadline and status != "sent":
            with app.ctx.db() as db:
                status = db.execute(
                    select(m.OutboundMessage.status).where(
                        m.OutboundMessage.message_id.like("lesson.%")
                    )
                ).scalar()
            time.sleep(0.2)
        # then the lesson is sent through the provider, and SIGTERM stops the worker cleanly
        assert status == "sent"
        # (at some hours of the day, the family's 13:00 self-care nudge is due too)
        assert {r["to"] for r in twilio.received} == {FAMILY}
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        asyncio.run(app.aclose())
    errors_text = log.read_text()
    assert code == 0, errors_text[-2000:]
    assert "Traceback" not in errors_text and "Unclosed" not in errors_text
    # and the log is quiet: a normal start is INFO, APScheduler says nothing about its runs, and
    # of the many ticks (every 0.5 s) only those that sent the welcome and the lesson wrote a line
    lines = errors_text.splitlines()
    assert [line for line in lines if "worker running" in line][0].split()[2] == "INFO"
    assert not [line for line in lines if "apscheduler" in line], lines
    # one warning only, and a loud one: nobody is on call to hear of a crisis (no STAFF_ALERT_*)
    warnings = [line for line in lines if "WARNING" in line]
    assert len(warnings) == 1 and "NOBODY is told" in warnings[0], lines
    ticks = [line for line in lines if "tick:" in line or "dispatch:" in line]
    sent = [int(n) for line in ticks for n in re.findall(r"sent (\d+)", line)]
    assert sum(sent) == 2 and len(ticks) <= 2, ticks


TRANSCRIPTS = sorted((Path(__file__).parent / "data" / "transcripts").glob("time_*.yaml"))


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_craftbot_simulate_replays_the_time_transcripts(transcript: Path) -> None:
    # given a transcript over a DST change; when `craftbot simulate` replays it
    unset = ("DATABASE_URL", "CRAFTBOT_PROGRAM_DIR", "DATA_KEYS")  # as a coach's shell has them
    env = {k: v for k, v in os.environ.items() if k not in unset}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "simulate", str(transcript)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then every step happened as written
    assert done.returncode == 0, done.stderr[-2000:]
    assert ": ok (" in done.stdout
    # and a replay in a throwaway database says nothing else (no DATA_KEYS warning)
    assert "DATA_KEYS" not in done.stderr, done.stderr
