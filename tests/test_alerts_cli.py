"""`craftbot alerts list|ack|close`, and the loud line a service gives when nobody is on call."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import build
from bot.channels.base import InboundMessage
from bot.cli.environment import NOBODY_ON_CALL
from bot.cli.main import main
from bot.settings import Settings

pytestmark = pytest.mark.usefixtures("program_loaded_once")

AT = datetime(2026, 3, 3, 2, 0, tzinfo=ZoneInfo("America/New_York"))
STAFF_PREFIXES = ("STAFF_", "TWILIO_", "TELEGRAM_", "SENDGRID_", "DATABASE_URL", "ALERT_")


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    for key in list(os.environ):
        if key.upper().startswith(STAFF_PREFIXES):
            monkeypatch.delenv(key)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", url)
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse refusing a value
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["craftbot", *args], code, out, err)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A database with two alerts: an overdose (urgent) and a follow-up's NOT OK."""
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    app = build(Settings(database_url=db), channels={}, clock=lambda: AT)
    for n, text in enumerate(("he's not breathing", "she says she will kill herself tonight")):
        app.runtime.handle_inbound(InboundMessage("sms", f"+1555012{n}", text, f"m{n}"), AT)
    app.engine.dispose()
    return db


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_list_ack_and_close_an_alert(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = run(monkeypatch, capsys, url, "alerts", "list", "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    first, second = sorted(lines(listed), key=lambda a: a["id"])
    assert (first["status"], first["priority"], first["category"]) == ("open", "urgent", "overdose")
    assert "text" not in first and "he's not breathing" not in listed.stdout  # no family words
    # ack
    acked = run(monkeypatch, capsys, url, "alerts", "ack", str(first["id"]), "--by", "Dana")
    assert acked.returncode == 0 and f"alert {first['id']} acknowledged by Dana" in acked.stdout
    open_now = lines(
        run(monkeypatch, capsys, url, "alerts", "list", "--status", "open", "--format", "jsonl")
    )
    assert [a["id"] for a in open_now] == [second["id"]]
    taken = lines(
        run(
            monkeypatch,
            capsys,
            url,
            "alerts",
            "list",
            "--status",
            "acknowledged",
            "--format",
            "jsonl",
        )
    )
    assert taken[0]["acknowledged_by"] == "Dana" and taken[0]["acknowledged_via"] == "cli"
    # close, with a note; the table form says who
    closed = run(
        monkeypatch, capsys, url, "alerts", "close", str(first["id"]), "--note", "Safe at home."
    )
    assert closed.returncode == 0
    table = run(monkeypatch, capsys, url, "alerts", "list").stdout.splitlines()
    assert any(f"{first['id']}  closed" in row and "by Dana" in row for row in table)
    assert any(f"{second['id']}  open" in row and "NOBODY told" in row for row in table)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("alerts", "ack", "99", "--by", "Dana"), "there is no alert 99"),
        (("alerts", "ack", "abc", "--by", "Dana"), "'abc' is not an alert number"),
        (("alerts", "ack", "9" * 25, "--by", "Dana"), f"'{'9' * 25}' is not an alert number"),
        (("alerts", "close", "9" * 25, "--note", "done"), f"'{'9' * 25}' is not an alert number"),
        (("alerts", "ack", "7" * 5000, "--by", "Dana"), f"'{'7' * 20}...' is not an alert number"),
        (("alerts", "ack", "1"), "--by"),
        (("alerts", "close", "1", "--note", "  "), "--note needs a few words"),
        (("alerts", "list", "--status", "lost"), "invalid choice: 'lost'"),
    ],
)
def test_mistakes_are_said_in_a_line_or_two_with_status_2(
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    says: str,
) -> None:
    result = run(monkeypatch, capsys, url, *args)
    assert result.returncode == 2 and says in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr


def test_acking_twice_is_a_clear_no(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, url, "alerts", "ack", "1", "--by", "Dana").returncode == 0
    again = run(monkeypatch, capsys, url, "alerts", "ack", "1", "--by", "Sam")
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "craftbot alerts ack: alert 1 is already acknowledged or past it; nothing changed"
    )


@pytest.mark.parametrize("command", ["web", "serve", "worker", "telegram poll"])
def test_a_service_with_nobody_on_call_says_so_in_one_warning_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    started: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append("uvicorn"))
    monkeypatch.setattr("bot.worker.run_forever", lambda app: _closed(app, started))
    monkeypatch.setattr("bot.cli.telegram_poll._serve", lambda app, *a: _closed(app, started))
    # polling needs a bot token; the stand-in _serve never uses it
    env = {"TELEGRAM_BOT_TOKEN": "123456:TEST"} if command.startswith("telegram") else {}
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    with caplog.at_level(logging.WARNING):
        assert run(monkeypatch, capsys, url, *command.split(), env=env).returncode == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [NOBODY_ON_CALL] and started
    # and with someone on call, no such line
    caplog.clear()
    monkeypatch.setenv("STAFF_ALERT_SMS", "+15550199")
    monkeypatch.setenv("ORG_CONTACT", "call 555-0100")
    monkeypatch.setenv("DATABASE_URL", url)
    with caplog.at_level(logging.WARNING):
        assert main(command.split()) == 0
    assert NOBODY_ON_CALL not in [r.getMessage() for r in caplog.records]


async def _closed(app: Any, started: list[str]) -> None:
    started.append("worker")
    await app.aclose()
