"""CLOCK_START and CLOCK_SPEED move every process's clock together (soaks and demonstrations)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build
from bot.runtime.admin import Enrollment, enroll
from bot.runtime.context import settings_clock
from bot.settings import Settings
from tests.standins.twilio_api import TwilioStandin
from tests.test_tick_cli import FAMILY, env_for, settings_for, twilio  # noqa: F401

ENROLLED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the 09:00 New York lesson: 14:00 UTC


def tick_without_at(env: dict[str, str]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "tick"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_process_acts_as_of_clock_start(tmp_path: Path, twilio: TwilioStandin) -> None:  # noqa: F811
    # given a family in New York enrolled on Monday 2 March 2026, its first lesson Tuesday 09:00
    env = env_for(tmp_path / "moved.db", twilio)
    app = build(settings_for(env), clock=lambda: ENROLLED)
    enroll(app.ctx, Enrollment("sms", FAMILY, timezone="America/New_York"), ENROLLED)
    # when `craftbot tick` (no --at) runs on a clock that reads Tuesday 08:00 in New York
    early = tick_without_at({**env, "CLOCK_START": "2026-03-03T13:00Z"})
    # then only the welcome queued at enrolment goes; the lesson is not due yet (today's real
    # date, months later, would have sent it too)
    assert early["sent"] == 1 and [r["body"][:17] for r in twilio.received] == ["Hi friend, welcom"]
    # and on a clock that reads 09:01 the lesson goes
    assert tick_without_at({**env, "CLOCK_START": "2026-03-03T14:01Z"})["sent"] == 1
    assert [r["to"] for r in twilio.received] == [FAMILY, FAMILY]


def test_clock_speed_runs_faster_and_processes_share_an_anchor() -> None:
    anchor = time.time()
    settings = Settings(clock_start="2026-03-03T13:00Z", clock_anchor=anchor, clock_speed=3600)
    one, two = settings_clock(settings), settings_clock(settings)
    time.sleep(0.05)
    first = one()
    # an hour of clock a real second: 0.05 s later at least 3 minutes have passed
    assert (first - datetime(2026, 3, 3, 13, 0, tzinfo=UTC)).total_seconds() >= 180
    assert abs((two() - first).total_seconds()) < 60  # the same clock, read a moment later


def test_a_clock_start_that_is_no_instant_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "tick"],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "CLOCK_START": "tuesday",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "CLOCK_START" in done.stderr.upper() and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
