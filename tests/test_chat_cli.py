"""`craftbot chat`: what a newcomer sees in their first minute, and the clock commands."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.catalog.render import Audience, render
from bot.cli.main import main
from bot.program_files import Loaded, ProgramFiles, load_program
from bot.settings import REPO_ROOT, Settings

CRAFTBOT = Path(sys.executable).with_name("craftbot")
NEW_YORK = ZoneInfo("America/New_York")
JOINING = ["hi", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm"]
PROVIDER_PREFIXES = ("TWILIO_", "TELEGRAM_", "SENDGRID_", "STAFF_ALERT_", "ORG_", "DATABASE_URL")


@pytest.fixture(scope="module")
def program() -> Loaded:
    loaded, problems = load_program(ProgramFiles.at(REPO_ROOT))
    assert loaded is not None, problems
    return loaded


def said(program: Loaded, message_id: str) -> str:
    """The words Ana (a parent, loved one's name skipped) gets for this message by SMS."""
    org = {
        "org": Settings.model_fields["org_name"].default,
        "org_contact": Settings.model_fields["org_contact"].default,
    }
    return render(
        program.catalogs,
        message_id,
        Audience("sms", "en", {"name": "Ana", "relationship": "parent"}),
        org,
    )


def chat_in_terminal(tmp_path: Path, lines: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(PROVIDER_PREFIXES)}
    result = subprocess.run(
        [str(CRAFTBOT), "chat", "--db", f"sqlite:///{tmp_path / 'chat.db'}"],
        input="\n".join(lines) + "\n",
        env=env,
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_a_newcomer_joins_gets_a_lesson_and_a_reward_for_a_good_day(
    tmp_path: Path, program: Loaded
) -> None:
    # when a newcomer says hi, joins, answers the questions, and answers the first evening check-in
    # with 1
    out = chat_in_terminal(tmp_path, [*JOINING, "/checkin", "1", "/quit"])
    # then they were told what they signed up for
    assert "Msg & data rates may apply" in out
    assert re.search(r"\bHELP\b", out) and re.search(r"\bSTOP\b", out)
    # and got the first lesson, the check-in question, and a reward idea, in that order
    lesson = out.find(said(program, program.program.flows.order.lessons[0]))
    question = out.find(said(program, "checkin.question"))
    rewards = [out.find(said(program, r)) for r in program.program.pools["reward"]]
    reward = max(rewards)
    assert 0 < lesson < question < reward, out
    assert sum(i >= 0 for i in rewards) == 1
    # and the check-in came at the evening time they chose
    assert re.search(
        r"bot \(\w{3} 19:00\): " + re.escape(said(program, "checkin.question")[:30]), out
    )


def run_chat(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db: Path,
    lines: list[str],
    *args: str,
) -> str:
    """The same command in this process, with a scripted keyboard."""
    for key in list(os.environ):
        if key.upper().startswith(PROVIDER_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["chat", "--db", f"sqlite:///{db}", *args]) == 0
    return capsys.readouterr().out


def test_clock_commands_move_time_show_it_and_hold_night_replies(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    program: Loaded,
) -> None:
    # given a family member who joined at 13:00 and answered the first check-in at 19:00
    today = datetime.now(NEW_YORK).date()
    script = [
        *JOINING,
        "/checkin",
        "1",
        "/held",
        "/wait 2d",
        "/time",  # two days on: 19:00, the day after tomorrow
        "/wait 3h",
        "LESSON",
        "/held",  # 22:00: the answer came at once, in quiet hours, and nothing waits
        "/wait 12h",
        "/TIME",
        "/foo",
        "/wait forever",
        "/quit",
    ]  # commands ignore case
    out = run_chat(monkeypatch, capsys, tmp_path / "chat.db", script)
    # input() does not echo a piped keyboard, so split the output at the prompts
    answers = re.split(r"\[[^\]]+\] you> ", out)[1:]
    assert len(answers) == len(script)
    first_held, wait_2d, time_2d, _, _, held_at_night, wait_12h, time_next, unknown, bad_wait, _ = (
        answers[len(JOINING) + 2 :]
    )
    # then nothing waits in the evening
    assert "Nothing is waiting." in first_held
    # and two days pass with their lessons and check-ins
    assert wait_2d.count(said(program, "checkin.question")) == 2, wait_2d
    # two lessons at 09:00, the second with the safety question after it (issue 16)
    assert len(re.findall(r"bot \(\w{3} 09:00\)", wait_2d)) == 3, wait_2d
    assert "do you ever feel unsafe with" in wait_2d
    assert_time(time_2d, today + timedelta(days=2), "19:00")
    # and at 22:00 the answer to LESSON comes at once, quiet hours or not (issue 20)
    assert re.search(r"bot \(\w{3} 22:00\)", answers[len(JOINING) + 6]), answers
    assert "Nothing is waiting." in held_at_night, held_at_night
    # and the next lesson comes at its time
    assert re.search(r"bot \(\w{3} 09:00\)", wait_12h), wait_12h
    assert_time(time_next, today + timedelta(days=3), "10:00")
    # and mistakes get a helpful answer
    assert "Unknown command /foo" in unknown and "/wait 3h" in unknown
    assert "Say how long" in bad_wait


def assert_time(printed: str, day: date, hhmm: str) -> None:
    moment = datetime.strptime(f"{day} {hhmm}", "%Y-%m-%d %H:%M")
    assert f"It is {moment:%A %d %B %Y}, {hhmm} (America/New_York)" in printed, printed


def answers_to(out: str) -> list[str]:
    """What came back after each line typed (input() does not echo a piped keyboard)."""
    return re.split(r"\[[^\]]+\] you> ", out)[1:]


def test_on_telegram_slash_commands_go_to_the_bot_and_the_chat_uses_bang(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    program: Loaded,
) -> None:
    # given a family member on Telegram, whose app sends /start first
    script = ["/start", "ENGLISH", "yes", "Ana", "1", "no", "SKIP", "1", "9am", "7pm"]
    script += ["!time", "/time", "/help@craftbot_bot", "/stop", "!quit"]
    out = run_chat(monkeypatch, capsys, tmp_path / "chat.db", script, "--channel", "telegram")
    answers = answers_to(out)
    assert "the chat's commands use !" in out.split("you>")[0]

    def words(message_id: str) -> str:
        return render(
            program.catalogs,
            message_id,
            Audience("telegram", "en", {"name": "Ana", "relationship": "parent"}),
            {
                "org": Settings.model_fields["org_name"].default,
                "org_contact": Settings.model_fields["org_contact"].default,
            },
        )

    # then /start reaches the bot, which asks for the language (a command says none), then
    # for consent, as it would in Telegram
    assert "Unknown command" not in out
    assert words("onboarding.ask_language").split(".")[0] in answers[0]
    assert words("onboarding.consent").split(".")[0] in answers[1]
    # and !time is the chat's clock, while /time is just a message to the bot
    assert "It is " in answers[len(script) - 5] and "It is " not in answers[len(script) - 4]
    # and /help (even addressed to @the_bot) and /stop are HELP and STOP
    assert words("keyword.help")[:40] in answers[len(script) - 3]
    assert words("keyword.stopped")[:40] in answers[len(script) - 2]


def test_the_clock_shows_the_zone_the_family_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a family in Chicago (time zone answer 2: Central) on a chat started in New York
    script = ["hi", "yes", "Ana", "1", "no", "SKIP", "2", "9am", "7pm", "/time", "/quit"]
    out = run_chat(monkeypatch, capsys, tmp_path / "chat.db", script)
    # then the clock and its prompt show Chicago time, an hour behind New York
    assert "(America/Chicago)" in answers_to(out)[-2]
    prompts = re.findall(r"\[\w{3} \d\d \w{3} (\d\d):\d\d\] you>", out)
    assert prompts[0] == "13" and prompts[-1] == "12", prompts


def test_help_with_default_settings_names_the_organisation_not_reply_help(tmp_path: Path) -> None:
    # when a newcomer on a deployment with default settings (no ORG_CONTACT) asks for HELP
    out = chat_in_terminal(tmp_path, ["HELP", "/quit"])
    # then HELP says who runs it, and never the circular "Contact: reply HELP"
    assert "Contact: Family Support." in out
    assert "Contact: reply HELP" not in out


def test_a_second_chat_on_the_same_database_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a chat that has run once (`make run` keeps .craftbot/chat.db)
    db = tmp_path / "chat.db"
    first = run_chat(monkeypatch, capsys, db, ["hi", "/quit"])
    assert "YES to join" in answers_to(first)[0]
    # when a newcomer runs it again and writes
    again = run_chat(monkeypatch, capsys, db, ["hi", "HELP", "/quit"])
    # then the new person is answered too (the same inbound ids were dropped as retries before)
    answers = answers_to(again)
    assert "YES to join" in answers[0] and "Contact: Family Support." in answers[1], again
