"""Every `craftbot` command, given a missing file, a wrong folder, a database it cannot reach or a
bad value: one or two lines saying what and where, exit status 2, never a traceback.

Most cases run in this process (start-up is paid once); a few run the installed script, as an
admin would, to show the same from the outside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.settings import REPO_ROOT

CRAFTBOT = Path(sys.executable).with_name("craftbot")
# Nothing listens on port 9 of this machine: connecting is refused at once.
UNREACHABLE = "postgresql://craftbot:s3cret-word@127.0.0.1:9/craftbot"
CLEARED = ("TWILIO_", "TELEGRAM_", "SENDGRID_", "STAFF_ALERT_", "ORG_", "DATABASE_URL", "CRAFTBOT_")
TRANSCRIPT = REPO_ROOT / "tests" / "data" / "transcripts"


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> object:
    """`craftbot ARGS` in this process, from an empty folder, with only the given settings."""

    def craftbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        for key in list(os.environ):
            if key.upper().startswith(CLEARED):
                monkeypatch.delenv(key)
        monkeypatch.setenv("CRAFTBOT_PROGRAM_DIR", str(REPO_ROOT))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing an argument
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["craftbot", *args], code, out, err)

    return craftbot


def said(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2; one or two lines (argparse: usage and error); every word; no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.args, result.returncode, result.stderr)
    assert 1 <= len(lines) <= 2, (result.args, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, (result.args, word, result.stderr)


def a_csv(folder: Path) -> Path:
    path = folder / "families.csv"
    path.write_text("channel,address\ntelegram,4242\n", encoding="utf-8")
    return path


# --- a database that cannot be reached, or is not one --------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("enroll", "--channel", "telegram", "--address", "4242"),
        ("import", "{csv}"),
        ("export", "contacts"),
        ("db", "upgrade"),
        ("tick",),
        ("worker",),
        ("web",),
        ("serve",),
    ],
    ids=lambda args: " ".join(args),
)
def test_an_unreachable_database_is_one_line_naming_it_without_the_password(
    run: object, tmp_path: Path, args: tuple[str, ...]
) -> None:
    argv = [a.replace("{csv}", str(a_csv(tmp_path))) for a in args]
    result = run(*argv, DATABASE_URL=UNREACHABLE)  # type: ignore[operator]
    said(result, "127.0.0.1:9/craftbot", "cannot be used")
    assert "s3cret-word" not in result.stderr


def test_chat_and_telegram_poll_say_the_same_about_their_database(
    run: object, tmp_path: Path
) -> None:
    said(run("chat", "--db", UNREACHABLE), "127.0.0.1:9/craftbot")  # type: ignore[operator]
    result = run("telegram", "poll", DATABASE_URL=UNREACHABLE, TELEGRAM_BOT_TOKEN="1:t")  # type: ignore[operator]
    said(result, "127.0.0.1:9/craftbot")


def test_a_database_url_that_is_not_one_says_what_one_looks_like(run: object) -> None:
    result = run("export", "contacts", DATABASE_URL="my database")  # type: ignore[operator]
    said(result, "DATABASE_URL 'my database' is not a database URL", "sqlite:///")


# --- no DATABASE_URL outside a craftbot folder ----------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("export", "contacts"),
        ("enroll", "--channel", "telegram", "--address", "4242"),
        ("import", "{csv}"),
        ("db", "upgrade"),
        ("tick",),
    ],
    ids=lambda args: " ".join(args),
)
def test_without_database_url_outside_a_craftbot_folder_nothing_is_created(
    run: object, tmp_path: Path, args: tuple[str, ...]
) -> None:
    # given an admin in a folder that is not a craftbot folder, with DATABASE_URL unset
    argv = [a.replace("{csv}", str(a_csv(tmp_path))) for a in args]
    # when a command needs the database
    result = run(*argv)  # type: ignore[operator]
    # then it says so, and no empty craftbot.db appears here
    said(result, "DATABASE_URL is not set", str(tmp_path), "not a craftbot folder")
    assert not (tmp_path / "craftbot.db").exists()
    assert result.stdout == ""


def test_without_database_url_in_a_craftbot_folder_the_local_file_is_used(
    run: object, tmp_path: Path
) -> None:
    # given a craftbot folder (flows/ and messages/) and no DATABASE_URL
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, tmp_path / part)
    # when contacts are exported
    result = run("export", "contacts", CRAFTBOT_PROGRAM_DIR=str(tmp_path))  # type: ignore[operator]
    # then the embedded default serves, as for `make run`
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "craftbot.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("export", "contacts"),
        ("alerts", "list"),
        ("family", "export", "1", "--by", "Dana"),
        ("keys", "rotate"),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_database_url_naming_a_sqlite_file_that_is_not_there_creates_nothing(
    run: object, tmp_path: Path, args: tuple[str, ...]
) -> None:
    # given DATABASE_URL with a typo in its path (a folder that is not there)
    url = f"sqlite:///{tmp_path}/craftbot-typo/craftbot.db"
    # when a command that only reads or changes what is stored runs
    result = run(*args, DATABASE_URL=url, DATA_KEYS="k" * 40)  # type: ignore[operator]
    # then it says the database is not there, instead of reporting an empty world
    said(result, "does not exist", str(tmp_path / "craftbot-typo" / "craftbot.db"))
    assert not (tmp_path / "craftbot-typo").exists()
    assert result.stdout == ""


# --- missing files and wrong folders --------------------------------------------------------------
def test_a_bad_port_breaks_only_the_web_process(run: object, tmp_path: Path) -> None:
    # given PORT set to something that is no port (a Procfile's "$PORT" run by hand)
    # then other commands work as before (it was a traceback from every command)
    result = run("flows", "validate", str(REPO_ROOT), PORT="$PORT")  # type: ignore[operator]
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    # and `web` says what is wrong in a line or two
    said(run("web", PORT="$PORT"), "'$PORT' is not a port number", "PORT")  # type: ignore[operator]
    said(run("serve", "--port", "99999"), "'99999' is not a port number")  # type: ignore[operator]


def test_import_a_folder(run: object, tmp_path: Path) -> None:
    result = run("import", str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/x.db")  # type: ignore[operator]
    said(result, f"{tmp_path}: is a folder; give the CSV file")
    assert "Errno" not in result.stderr


def test_simulate_a_missing_transcript(run: object, tmp_path: Path) -> None:
    said(run("simulate", "nope.yaml"), "nope.yaml: there is no such file")  # type: ignore[operator]
    said(run("simulate", str(tmp_path)), "is a folder")  # type: ignore[operator]


def test_simulate_against_a_folder_that_is_not_a_program(run: object, tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    result = run(  # type: ignore[operator]
        "simulate", str(TRANSCRIPT / "parent_week.yaml"), "--program", str(tmp_path)
    )
    said(result, f"{tmp_path} has flows/ but no messages/ folder beside it")


def test_validate_a_flows_folder_without_messages_beside_it(run: object, tmp_path: Path) -> None:
    # given a copy of flows/ alone, in a folder with no messages/ next to it
    shutil.copytree(REPO_ROOT / "flows", tmp_path / "edits" / "flows")
    # when it is validated
    result = run("flows", "validate", str(tmp_path / "edits" / "flows"))  # type: ignore[operator]
    # then it says messages/ is missing there, instead of reading another folder's
    said(result, "looks like a flows folder", str(tmp_path / "edits" / "messages"))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        ("nothing", "does not exist"),
        ("file", "is a file"),
        ("empty", "is not a program folder"),
        ("flows only", "has flows/ but no messages/"),
        ("messages only", "has messages/ but no flows/"),
    ],
)
def test_validate_graph_and_content_refuse_a_folder_that_is_not_a_program(
    run: object, tmp_path: Path, make: str, words: str
) -> None:
    target = tmp_path / "program"
    if make == "file":
        target.write_text("x", encoding="utf-8")
    elif make != "nothing":
        target.mkdir()
        for part in make.replace(" only", "").split():
            (target / part).mkdir()
    for args in (
        ("flows", "validate", str(target)),
        ("flows", "graph", "--path", str(target)),
        ("content", "check", "--path", str(target)),
        ("content", "preview", "--path", str(target)),
    ):
        said(run(*args), words)  # type: ignore[operator]


def test_a_program_folder_setting_that_points_nowhere(run: object, tmp_path: Path) -> None:
    nowhere = str(tmp_path / "nowhere")
    for args in (("flows", "validate"), ("tick",), ("flows", "graph", "checkin")):
        result = run(*args, CRAFTBOT_PROGRAM_DIR=nowhere, DATABASE_URL="sqlite:///x.db")  # type: ignore[operator]
        said(result, f"CRAFTBOT_PROGRAM_DIR is {nowhere}")


def test_import_a_missing_or_unreadable_file(run: object, tmp_path: Path) -> None:
    said(run("import", "families.csv", DATABASE_URL="sqlite:///x.db"), "no such file")  # type: ignore[operator]
    (tmp_path / "latin1.csv").write_bytes("channel,address\nsms,caf\xe9\n".encode("latin-1"))
    said(run("import", "latin1.csv", DATABASE_URL="sqlite:///x.db"), "UTF-8")  # type: ignore[operator]


def test_writing_where_nothing_can_be_written(run: object, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    said(run("flows", "graph", "--out", str(tmp_path / "taken")), "is a file")  # type: ignore[operator]
    result = run("content", "preview", "--out", str(tmp_path / "taken" / "p.md"))  # type: ignore[operator]
    said(result, str(tmp_path / "taken"))


# --- bad arguments and settings -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (("tick", "--at", "yesterday"), {}, "'yesterday' is not an ISO 8601 instant"),
        (("chat", "--timezone", "Mars/Olympus"), {}, "'Mars/Olympus' is not an IANA time zone"),
        (("flows", "graph", "chekin"), {}, "there is no flow 'chekin'"),
        (("export", "everything"), {}, "invalid choice: 'everything'"),
        (("telegram", "set-webhook"), {}, "set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET"),
        (("telegram", "poll"), {"DATABASE_URL": "sqlite:///x.db"}, "set TELEGRAM_BOT_TOKEN"),
        (("tick",), {"TICK_SECONDS": "often"}, "TICK_SECONDS='often'"),
        (
            ("enroll", "--channel", "sms", "--address", "020 7946 0123"),
            {"DEFAULT_REGION": "Narnia", "DATABASE_URL": "sqlite:///x.db"},
            "DEFAULT_REGION='Narnia'",
        ),
        (("tick",), {"TWILIO_ACCOUNT_SID": "AC1", "DATABASE_URL": "sqlite:///x.db"}, "partly"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_a_bad_argument_or_setting_is_named(
    run: object, args: tuple[str, ...], env: dict[str, str], words: str
) -> None:
    said(run(*args, **env), words)  # type: ignore[operator]


def test_default_region_reads_national_numbers_of_that_country(run: object) -> None:
    # given a UK organisation (DEFAULT_REGION=GB)
    env = {"DEFAULT_REGION": "GB", "DATABASE_URL": "sqlite:///x.db"}
    # when a coach types a London number without +44 (Ofcom's drama range: never a real line)
    result = run("enroll", "--channel", "sms", "--address", "020 7946 0123", "--dry-run", **env)  # type: ignore[operator]
    # then it is read as a UK number
    assert result.returncode == 0, result.stderr
    assert "(sms +44 20 7946 0123) would be enrolled" in result.stdout


# --- the same from outside, with the installed script ---------------------------------------------
def script(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(CLEARED)}
    return subprocess.run(
        [str(CRAFTBOT), *args],
        env={**clean, "CRAFTBOT_PROGRAM_DIR": str(REPO_ROOT), **env},
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_the_installed_script_answers_in_one_line_too(tmp_path: Path) -> None:
    said(script("db", "upgrade", cwd=tmp_path, DATABASE_URL=UNREACHABLE), "cannot be used")
    said(script("simulate", "missing.yaml", cwd=tmp_path), "missing.yaml: there is no such file")
    said(script("export", "contacts", cwd=tmp_path), "DATABASE_URL is not set")
    assert not (tmp_path / "craftbot.db").exists()


def test_verbose_shows_the_traceback_of_an_unexpected_error(
    run: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a command that fails in a way nobody planned for
    from bot.cli import flows_cmds

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(flows_cmds, "run_validate", broken)
    import bot.cli.main as cli_main

    parser = cli_main.parser
    monkeypatch.setattr(
        cli_main,
        "parser",
        lambda: _with_handler(parser(), ("flows", "validate"), broken),
    )
    # then it is still one line, asking for a report; --verbose shows where
    quiet = run("flows", "validate")  # type: ignore[operator]
    said(quiet, "unexpected error (RuntimeError: a bug)", "--verbose")
    loud = run("--verbose", "flows", "validate")  # type: ignore[operator]
    assert loud.returncode == 2 and "Traceback" in loud.stderr


def _with_handler(top: object, path: tuple[str, ...], handler: object) -> object:
    import argparse

    assert isinstance(top, argparse.ArgumentParser)
    original = top.parse_args

    def parse_args(argv: object = None) -> argparse.Namespace:
        args = original(argv)  # type: ignore[arg-type]
        if (args.command, getattr(args, "flows_command", None)) == path:
            args.handler = handler
        return args

    top.parse_args = parse_args  # type: ignore[method-assign]
    return top
