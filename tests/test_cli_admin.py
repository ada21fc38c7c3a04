"""The admin CLI contract (enroll, import, export, db upgrade): the real `craftbot` script, and in
process for value matrices."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session as DB

from bot.app import build
from bot.channels.base import InboundMessage
from bot.cli.admin_cmds import enrolled
from bot.cli.main import main
from bot.engine.program import CrisisPolicy
from bot.engine.session import Session
from bot.program_files import ProgramFiles
from bot.runtime import program_holder
from bot.runtime.admin import Enrollment, import_csv
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import alembic_config

CRAFTBOT = Path(sys.executable).with_name("craftbot")
IMPORTS = Path(__file__).parent / "data" / "import"
PROVIDER_PREFIXES = (
    "TWILIO_",
    "TELEGRAM_",
    "SENDGRID_",
    "STAFF_ALERT_",
    "ORG_POSTAL_ADDRESS",
    "DATABASE_URL",
)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ANA = [
    "--channel",
    "sms",
    "--address",
    "+1 202 555 0123",
    "--name",
    "Ana",
    "--relationship",
    "parent",
    "--loved-one",
    "Jay",
    "--timezone",
    "America/Chicago",
    "--lesson-time",
    "09:00",
    "--checkin-time",
    "19:30",
]


# The commands run at 07:00 in Chicago on Monday 2 March 2026 (quiet hours until 08:00): what
# they say about times must not depend on when the tests run.
MORNING = "2026-03-02T13:00Z"


def env_for(url: str) -> dict[str, str]:
    """The caller's environment without any provider credentials, pointed at this database."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(PROVIDER_PREFIXES)}
    env["DATABASE_URL"] = url
    env["CLOCK_START"] = MORNING
    return env


def craftbot(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an admin runs it."""
    return subprocess.run(
        [str(CRAFTBOT), *args],
        env=env_for(url),
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """The same commands in this process: start-up is paid once, so the value matrix stays fast."""
    for key in list(os.environ):
        if key.upper().startswith(PROVIDER_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CLOCK_START", MORNING)
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse refusing a value
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["craftbot", *args], code, out, err)


@contextmanager
def database(url: str) -> Iterator[DB]:
    engine = make_engine(url)
    try:
        with DB(engine) as db:
            yield db
    finally:
        engine.dispose()


def count(url: str, model: type[m.Base]) -> int:
    """Rows of a table; 0 when a refused command never got as far as creating it."""
    with database(url) as db:
        if not inspect(db.get_bind()).has_table(model.__tablename__):
            return 0
        return db.scalar(select(func.count()).select_from(model)) or 0


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def programs() -> dict[object, object]:
    return {}


@pytest.fixture
def inproc(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    programs: dict[object, object],
) -> Run:
    """In-process runs share one parsed program (it is immutable): parsing the YAML costs over a
    second."""
    real = program_holder.load_program

    def load_once(files: ProgramFiles, crisis: CrisisPolicy | None = None) -> object:
        if (files, crisis) not in programs:
            programs[(files, crisis)] = real(files, crisis)
        return programs[(files, crisis)]

    monkeypatch.setattr(program_holder, "load_program", load_once)
    return lambda url, *args: cli(monkeypatch, capsys, url, *args)


# --- enroll -------------------------------------------------------------------------------------
ENROLLED = re.compile(
    r"^Ana \(sms \+1 202-555-0123\) enrolled as contact (\d+); the welcome message is queued for "
    r"Mon 2 Mar 08:00 America/Chicago, then the first lesson, Mon 2 Mar 09:00 America/Chicago\n$"
)


def contact_id_in(result: subprocess.CompletedProcess[str]) -> int:
    found = re.search(r"enrolled as contact (\d+);", result.stdout)
    assert found, result.stdout + result.stderr
    return int(found.group(1))


def test_enroll_says_who_was_enrolled_and_when_the_first_message_goes(tmp_path: Path) -> None:
    # given an empty database
    url = sqlite_url(tmp_path)
    # when a coach enrolls Ana, whose consent the organisation collected on paper
    result = craftbot(url, "enroll", *ANA, cwd=tmp_path)
    # then one line says who, on which number, as which contact, and when her first message goes
    assert result.returncode == 0, result.stderr
    found = ENROLLED.match(result.stdout)
    assert found, result.stdout
    contact_id = int(found.group(1))
    # and, as no SMS provider is configured here, that her messages will wait
    assert "the sms channel is not configured" in result.stderr
    assert "wait in the outbox" in result.stderr
    with database(url) as db:
        contact = db.get(m.Contact, contact_id)
        assert contact is not None
        assert (contact.channel, contact.address, contact.status) == (
            "sms",
            "+12025550123",
            "active",
        )
        assert (contact.name, contact.relationship, contact.loved_one) == ("Ana", "parent", "Jay")
        assert Session.from_json(contact.session).onboarded
        consents = list(db.scalars(select(m.Consent).where(m.Consent.contact_id == contact_id)))
        assert [(c.by, c.given) for c in consents] == [("admin", True)]
        timers = {
            t.kind: t.due_at.astimezone(ZoneInfo("America/Chicago"))
            for t in db.scalars(select(m.Timer).where(m.Timer.contact_id == contact_id))
        }
    # and her lesson and check-in come at her local times
    assert timers["lesson"].time() == time(9, 0)
    assert timers["checkin"].time() == time(19, 30)


def test_enrolling_the_same_address_again_fails_clearly(tmp_path: Path, inproc: Run) -> None:
    # given Ana is enrolled
    url = sqlite_url(tmp_path)
    assert inproc(url, "enroll", *ANA).returncode == 0
    # when a coach enrolls her number again, written another way
    result = craftbot(
        url,
        "enroll",
        "--channel",
        "sms",
        "--address",
        "(202) 555-0123",
        "--name",
        "Ana",
        cwd=tmp_path,
    )
    # then the script fails with status 2, says so in one line, and prints nothing on stdout
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "craftbot enroll: sms +12025550123 is already enrolled (contact 1)"
    ]
    assert result.stdout == ""
    assert count(url, m.Consent) == 1


@pytest.mark.parametrize(
    ("value", "args"),
    [
        (
            "stranger",
            ["--channel", "sms", "--address", "+1 202 555 0124", "--relationship", "stranger"],
        ),
        (
            "Mars/Olympus",
            ["--channel", "sms", "--address", "+1 202 555 0124", "--timezone", "Mars/Olympus"],
        ),
        ("25:00", ["--channel", "sms", "--address", "+1 202 555 0124", "--lesson-time", "25:00"]),
        ("7", ["--channel", "sms", "--address", "+1 202 555 0124", "--checkin-time", "7"]),
        ("call me maybe", ["--channel", "sms", "--address", "call me maybe"]),
        ("555-0199", ["--channel", "sms", "--address", "555-0199"]),
        ("+1 555 0123", ["--channel", "sms", "--address", "+1 555 0123"]),
        ("ana.example.org", ["--channel", "email", "--address", "ana.example.org"]),
        ("@ana_telegram", ["--channel", "telegram", "--address", "@ana_telegram"]),
        ("B" * 81, ["--channel", "sms", "--address", "+1 202 555 0124", "--loved-one", "B" * 81]),
        ("klingon", ["--channel", "sms", "--address", "+1 202 555 0124", "--locale", "klingon"]),
    ],
)
def test_enroll_refuses_a_bad_value_naming_it(
    tmp_path: Path, inproc: Run, value: str, args: list[str]
) -> None:
    url = sqlite_url(tmp_path)
    # when a coach enrolls someone with one bad value
    result = inproc(url, "enroll", *args)
    # then it fails with status 2 in one line naming the value, and nobody is enrolled
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and f"'{value}'" in result.stderr, result.stderr
    assert result.stdout == ""
    assert count(url, m.Contact) == 0


def test_enroll_reports_every_bad_value_at_once(tmp_path: Path, inproc: Run) -> None:
    url = sqlite_url(tmp_path)
    result = inproc(
        url,
        "enroll",
        *["--channel", "sms", "--address", "555-0199", "--relationship", "stranger"],
        *["--timezone", "Mars/Olympus", "--lesson-time", "9", "--locale", "fr"],
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "craftbot enroll: 5 problems, nobody was enrolled:"
    for value in ("555-0199", "stranger", "Mars/Olympus", "'9' could be morning", "'fr'"):
        assert sum(value in line for line in lines[1:]) == 1, (value, lines)
    assert count(url, m.Contact) == 0


def test_enroll_accepts_what_the_chat_understands(tmp_path: Path, inproc: Run) -> None:
    # when a coach writes the details as a family member would answer the chat's questions
    url = sqlite_url(tmp_path)
    result = inproc(
        url,
        "enroll",
        *["--channel", "sms", "--address", "(202) 555-0125", "--name", "Ana"],
        *["--relationship", "wife", "--timezone", "central"],
        *["--lesson-time", "7:30am", "--checkin-time", "8pm"],
    )
    # then they are stored as the chat would store them
    assert result.returncode == 0, result.stderr
    with database(url) as db:
        contact = db.get_one(m.Contact, contact_id_in(result))
        stored = (contact.relationship, contact.timezone, contact.lesson_time, contact.checkin_time)
    assert stored == ("partner", "America/Chicago", "07:30", "20:00")
    # and the first message is the lesson, held past quiet hours to 08:00 her time (honestly said)
    assert "the first lesson, " in result.stdout and " 08:00 America/Chicago" in result.stdout


def test_enroll_dry_run_says_what_would_happen_and_saves_nothing(
    tmp_path: Path, inproc: Run
) -> None:
    url = sqlite_url(tmp_path)
    result = inproc(url, "enroll", *ANA, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "Ana (sms +1 202-555-0123) would be enrolled; the welcome message would be queued for "
    )
    assert "09:00 America/Chicago (dry run: nothing was saved)" in result.stdout
    assert count(url, m.Contact) == 0 and count(url, m.Timer) == 0 and count(url, m.Consent) == 0
    # and a real run afterwards is not refused as a duplicate
    assert inproc(url, "enroll", *ANA).returncode == 0
    assert count(url, m.Contact) == 1


def test_enroll_on_a_configured_channel_gives_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given Telegram is configured
    monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:token")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a-telegram-secret-0123")
    # when a Telegram family is enrolled (a dry run)
    code = main(["enroll", "--channel", "telegram", "--address", "4242", "--dry-run"])
    # then nothing warns that messages will wait
    out, err = capsys.readouterr()
    assert code == 0 and "would be enrolled" in out
    assert err == ""


def test_enroll_on_telegram_and_email(tmp_path: Path, inproc: Run) -> None:
    # given an empty database
    url = sqlite_url(tmp_path)
    # when a Telegram chat and an email address are enrolled
    telegram = inproc(
        url,
        "enroll",
        "--channel",
        "telegram",
        "--address",
        "424242",
        "--name",
        "Bo",
        "--relationship",
        "partner",
    )
    email = inproc(
        url,
        "enroll",
        "--channel",
        "email",
        "--address",
        "Cy.Family@Example.org",
        "--relationship",
        "child",
        "--timezone",
        "Europe/Madrid",
    )
    # then both get an id, and the email address is kept as providers send it (lower case)
    assert telegram.returncode == 0 and email.returncode == 0, telegram.stderr + email.stderr
    assert telegram.stdout.startswith("Bo (telegram 424242) enrolled as contact ")
    assert email.stdout.startswith("A family member (email cy.family@example.org) enrolled as ")
    with database(url) as db:
        rows = {
            c.id: (c.channel, c.address, c.timezone, c.status)
            for c in db.scalars(select(m.Contact))
        }
        timer_kinds = {(t.contact_id, t.kind) for t in db.scalars(select(m.Timer))}
    bo, cy = contact_id_in(telegram), contact_id_in(email)
    assert rows[bo][::3] == ("telegram", "active")
    assert rows[bo][1] == "424242"
    assert rows[cy] == ("email", "cy.family@example.org", "Europe/Madrid", "active")
    assert {(cy, "lesson"), (bo, "checkin")} <= timer_kinds


# --- import -------------------------------------------------------------------------------------
def test_import_keeps_good_rows_and_reports_every_problem_by_line_without_leftovers(
    tmp_path: Path,
) -> None:
    # given a CSV with good rows (2, 4, 10, 15), a blank line (9) and bad rows (the rest)
    url = sqlite_url(tmp_path)
    # when it is imported
    result = craftbot(url, "import", str(IMPORTS / "mixed.csv"), cwd=tmp_path)
    # then the run says some rows failed (status 1: done, with problems listed)
    assert result.returncode == 1, result.stderr
    assert "imported 4 row(s); 10 row(s) had problems and were not imported" in result.stdout
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if "mixed.csv:" in line]
    reported = {int(line.split("mixed.csv:")[1].split(":")[0]) for line in problems}
    assert reported == {3, 5, 6, 7, 8, 11, 12, 13, 14, 16}, result.stderr
    # and every problem of a row is reported, each on its own line
    line_3 = [p for p in problems if "mixed.csv:3:" in p]
    assert len(line_3) == 3 and all(
        any(value in p for p in line_3) for value in ("stranger", "Mars/Olympus", "'9'")
    ), line_3
    for line, value in (
        (5, "Mars/Olympus"),
        (6, "'9' could be morning or evening"),
        (7, "+12025550131 repeats line 2 of this file"),
        (8, "call me maybe"),
        (11, "A" * 100),
        (12, "surprise"),
        (13, "fax"),
        (14, "fr"),
        (16, "555-0199"),
    ):
        assert any(f"mixed.csv:{line}: " in p and value in p for p in problems), (line, value)
    # and each imported row says what will happen
    assert re.search(
        r"^line 15: Gil \(sms \+1 202-555-0137\) enrolled as contact \d+; ", result.stdout, re.M
    )
    # and only the good rows left anything behind: contact, consent and timers
    with database(url) as db:
        contacts = {c.id: (c.address, c.relationship) for c in db.scalars(select(m.Contact))}
        consent_owners = list(db.scalars(select(m.Consent.contact_id)))
        timer_owners = set(db.scalars(select(m.Timer.contact_id)))
    assert sorted(contacts.values()) == [
        ("+12025550131", "parent"),
        ("+12025550137", "partner"),  # "wife", as the chat reads it
        ("424201", "partner"),
        ("fay@example.org", "child"),
    ]
    assert sorted(consent_owners) == sorted(contacts)
    assert timer_owners == set(contacts)


def test_import_dry_run_checks_every_row_and_enrolls_nobody(tmp_path: Path, inproc: Run) -> None:
    url = sqlite_url(tmp_path)
    result = inproc(url, "import", str(IMPORTS / "mixed.csv"), "--dry-run")
    assert result.returncode == 1
    assert (
        "would import 4 row(s); 10 row(s) had problems and would not be imported" in result.stdout
    )
    # the duplicate of line 2 is found even though nothing was saved, and said as such (it said
    # "is already enrolled (contact 1)", a contact the dry run never made)
    assert "mixed.csv:7: sms +12025550131 repeats line 2 of this file" in result.stderr
    assert count(url, m.Contact) == 0 and count(url, m.Timer) == 0


def test_import_skips_a_spreadsheets_empty_rows_and_names_every_missing_column(
    tmp_path: Path, inproc: Run
) -> None:
    # given a CSV saved from a spreadsheet: a good row, a row with a name only, padding rows
    csv_file = tmp_path / "families.csv"
    csv_file.write_text(
        "channel,address,name\nsms,+1 202 555 0138,Liz\n,,Max\n,,\n,,\n", encoding="utf-8"
    )
    # when it is checked
    result = inproc(sqlite_url(tmp_path), "import", str(csv_file), "--dry-run")
    # then the empty rows are no families, and the row with a name only gets both problems
    assert "would import 1 row(s); 1 row(s) had problems" in result.stdout, result.stdout
    problems = [line for line in result.stderr.splitlines() if "families.csv:" in line]
    assert problems == [
        f"{csv_file}:3: channel is missing (one of sms, telegram, email)",
        f"{csv_file}:3: address is missing",
    ]


def test_import_refuses_a_file_with_an_unknown_column_whole(tmp_path: Path, inproc: Run) -> None:
    # given a CSV whose header has a column the CLI does not know, and otherwise good rows
    url = sqlite_url(tmp_path)
    # when it is imported
    result = inproc(url, "import", str(IMPORTS / "unknown_column.csv"))
    # then it fails with status 2 naming the column, and nobody is enrolled
    assert result.returncode == 2
    assert "line 1" in result.stderr and "phone_type" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert count(url, m.Contact) == 0


def test_import_of_a_missing_file_says_so(tmp_path: Path, inproc: Run) -> None:
    result = inproc(sqlite_url(tmp_path), "import", str(tmp_path / "families.csv"))
    assert result.returncode == 2
    assert result.stderr == f"craftbot import: {tmp_path / 'families.csv'}: there is no such file\n"


def test_import_csv_reports_every_problem_of_every_row(tmp_path: Path) -> None:
    # the library function behind the command, as other parts call it
    app = build(Settings(database_url=sqlite_url(tmp_path)), channels={})
    try:
        ids, errors = import_csv(app.ctx, io.StringIO((IMPORTS / "mixed.csv").read_text()))
    finally:
        app.engine.dispose()
    assert len(ids) == 4
    assert sum(e.startswith("line 3: ") for e in errors) == 3


# --- export -------------------------------------------------------------------------------------
def rows_of(result: subprocess.CompletedProcess[str], fmt: str) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    if fmt == "jsonl":
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_export_shows_real_checkins_and_alerts_in_jsonl_and_csv(
    tmp_path: Path, inproc: Run
) -> None:
    # given Ana, enrolled, whose first evening check-in a tick fires
    url = sqlite_url(tmp_path)
    assert inproc(url, "enroll", *ANA).returncode == 0
    with database(url) as db:
        due = db.scalar(select(m.Timer.due_at).where(m.Timer.kind == "checkin"))
    assert due is not None
    tick = craftbot(url, "tick", "--at", due.strftime("%Y-%m-%dT%H:%M:%SZ"), cwd=tmp_path)
    assert tick.returncode == 0 and json.loads(tick.stdout)["fired"] >= 1, tick.stdout + tick.stderr
    # when she answers "1" (not using today), then writes about an emergency
    answered, worried = due + timedelta(minutes=5), due + timedelta(minutes=20)
    app = build(Settings(database_url=url), channels={})
    try:
        app.runtime.handle_inbound(
            InboundMessage("sms", "+12025550123", "1", "SM-export-1"), answered
        )
        crisis = app.runtime.handle_inbound(
            InboundMessage("sms", "+12025550123", "he is not breathing", "SM-export-2"), worried
        )
    finally:
        app.engine.dispose()
    assert crisis.crisis_ids
    exported = {("checkins", "jsonl"): craftbot(url, "export", "checkins", cwd=tmp_path)}
    for what in ("checkins", "alerts", "contacts", "messages"):
        for fmt in ("jsonl", "csv"):
            if (what, fmt) not in exported:
                exported[(what, fmt)] = inproc(url, "export", what, "--format", fmt)
    for fmt in ("jsonl", "csv"):
        # then both formats show the check-in with its value and its time in UTC
        checkins = rows_of(exported[("checkins", fmt)], fmt)
        assert [(c["channel"], c["address"], c["value"]) for c in checkins] == [
            ("sms", "+12025550123", "non_use")
        ]
        assert ISO_Z.match(str(checkins[0]["at"]))
        assert datetime.fromisoformat(str(checkins[0]["at"]).replace("Z", "+00:00")) == answered
        # and the alert, with what she wrote
        alerts = rows_of(exported[("alerts", fmt)], fmt)
        assert [(a["channel"], a["address"], a["text"]) for a in alerts] == [
            ("sms", "+12025550123", "he is not breathing")
        ]
        assert alerts[0]["category"] and ISO_Z.match(str(alerts[0]["at"]))
        assert datetime.fromisoformat(str(alerts[0]["at"]).replace("Z", "+00:00")) == worried
        # and the contact, and the conversation both ways
        assert [c["address"] for c in rows_of(exported[("contacts", fmt)], fmt)] == ["+12025550123"]
        messages = rows_of(exported[("messages", fmt)], fmt)
        said = [row["text"] for row in messages if row["direction"] == "in"]
        assert said == ["1", "he is not breathing"]
        assert (
            sum(row["direction"] == "out" for row in messages) >= 3
        )  # question, reward, crisis reply


def test_export_of_nothing_is_empty_jsonl_and_a_csv_header(tmp_path: Path, inproc: Run) -> None:
    # given an empty database (export never creates one: tests/test_cli_errors.py)
    url = sqlite_url(tmp_path)
    assert inproc(url, "db", "upgrade").returncode == 0
    # when check-ins are exported
    as_jsonl = inproc(url, "export", "checkins")
    as_csv = inproc(url, "export", "checkins", "--format", "csv")
    # then JSONL has no lines and the CSV still names its columns (a spreadsheet can open it)
    assert (as_jsonl.returncode, as_jsonl.stdout) == (0, "")
    assert as_csv.returncode == 0
    assert {"channel", "address", "value", "at"} <= set(as_csv.stdout.splitlines()[0].split(","))


# --- db upgrade ---------------------------------------------------------------------------------
def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def test_db_upgrade_on_sqlite_prints_the_revision_and_can_run_again(
    tmp_path: Path, inproc: Run
) -> None:
    url = sqlite_url(tmp_path)
    # when upgrade runs on a new SQLite file, and again
    first = inproc(url, "db", "upgrade")
    second = inproc(url, "db", "upgrade")
    # then both succeed and name the newest revision
    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert head_revision(url) in result.stdout
    with database(url) as db:
        assert "contacts" in inspect(db.get_bind()).get_table_names()


def test_db_upgrade_on_postgresql_in_both_url_spellings(
    tmp_path: Path, fresh_pg_url: str, inproc: Run
) -> None:
    # given an empty PostgreSQL database, and the postgres:// spelling Heroku hands out
    heroku_url = "postgres://" + fresh_pg_url.split("://", 1)[1]
    # when a command needs the schema before anyone upgraded
    early = craftbot(
        heroku_url, "enroll", "--channel", "telegram", "--address", "4242", cwd=tmp_path
    )
    # then it says what to run
    assert early.returncode != 0 and "craftbot db upgrade" in early.stderr
    # when upgrade runs with each spelling
    first = craftbot(heroku_url, "db", "upgrade", cwd=tmp_path)
    second = inproc(fresh_pg_url, "db", "upgrade")
    # then both name the newest revision, and the schema is usable
    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert head_revision(fresh_pg_url) in result.stdout
    enrolled = inproc(heroku_url, "enroll", "--channel", "telegram", "--address", "4242")
    assert enrolled.returncode == 0 and "enrolled as contact 1;" in enrolled.stdout, enrolled.stderr


def test_the_welcome_is_said_to_go_when_quiet_hours_end(tmp_path: Path) -> None:
    # given Ana enrolled in Chicago at 23:00 her time: her welcome is queued at once
    late = datetime(2026, 3, 2, 23, 0, tzinfo=ZoneInfo("America/Chicago"))
    app = build(Settings(database_url=sqlite_url(tmp_path)), channels={}, clock=lambda: late)
    try:
        request = Enrollment("sms", "+12025550123", timezone="America/Chicago")
        # when the CLI enrolls her and says what she gets first
        line = enrolled(app.ctx, request, dry_run=False)
    finally:
        app.engine.dispose()
    # then the welcome goes at 08:00 the next morning, her time (quiet hours end), then the lesson
    assert line.endswith(
        "the welcome message is queued for Tue 3 Mar 08:00 America/Chicago, "
        "then the first lesson, Tue 3 Mar 09:00 America/Chicago"
    )


def test_a_family_enrolled_after_the_lesson_time_is_told_the_lesson_comes_now(
    tmp_path: Path,
) -> None:
    # given Ana enrolled in Chicago at 14:00 her time, with the default 09:00 lesson time
    afternoon = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("America/Chicago"))
    app = build(Settings(database_url=sqlite_url(tmp_path)), channels={}, clock=lambda: afternoon)
    try:
        request = Enrollment("sms", "+12025550123", timezone="America/Chicago")
        # when the CLI enrolls her and says what she gets first
        line = enrolled(app.ctx, request, dry_run=False)
    finally:
        app.engine.dispose()
    # then today's lesson is said to go now, after the welcome (as the next tick sends it), not
    # at 09:00 that morning, five hours before the welcome
    assert line.endswith(
        "the welcome message is queued for Mon 2 Mar 14:00 America/Chicago, "
        "then the first lesson, Mon 2 Mar 14:00 America/Chicago"
    )


def test_import_dry_run_then_import_on_postgresql(fresh_pg_url: str, inproc: Run) -> None:
    # given a PostgreSQL database at the newest schema
    assert inproc(fresh_pg_url, "db", "upgrade").returncode == 0
    # when the CSV is checked with --dry-run, nothing is written, duplicates are still found
    dry = inproc(fresh_pg_url, "import", str(IMPORTS / "mixed.csv"), "--dry-run")
    assert dry.returncode == 1 and "would import 4 row(s)" in dry.stdout, dry.stderr
    assert "mixed.csv:7: sms +12025550131 repeats line 2 of this file" in dry.stderr
    assert count(fresh_pg_url, m.Contact) == 0
    # and the real import then enrolls the same four
    real = inproc(fresh_pg_url, "import", str(IMPORTS / "mixed.csv"))
    assert "imported 4 row(s)" in real.stdout
    assert count(fresh_pg_url, m.Contact) == 4
