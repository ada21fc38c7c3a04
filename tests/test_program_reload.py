"""Hot reload: a broken edit never replaces the working program, and conversations survive edits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine.program import CrisisPolicy
from bot.program_files import ProgramFiles
from bot.runtime.program_holder import ProgramHolder
from bot.settings import REPO_ROOT, Settings
from bot.simulation import Harness, Sent

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)
ONBOARDING = ["hi", "yes", "Sam", "partner", "no", "Alex", "America/New_York", "9am", "7pm"]
BAD_INDENT = ("      reask: checkin.reask\n", "     reask: checkin.reask\n")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the shipped program that the test edits, as an admin would."""
    program = tmp_path / "program"
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, program / part)
    return program


@pytest.fixture
def harness(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("CRAFTBOT_PROGRAM_DIR", str(root))
    h = Harness(Settings(database_url=f"sqlite:///{tmp_path}/bot.db"), MONDAY_10AM)
    try:
        yield h
    finally:
        h.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    stat = path.stat()  # make sure the change is seen even on a file system with coarse times
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def ids(sent: list[Sent]) -> list[str]:
    return [s.message_id for s in sent]


def at_evening_checkin(h: Harness) -> None:
    for text in ONBOARDING:
        h.say(text)
    assert ids(h.until("checkin"))[-1] == "checkin.question"
    assert (h.session().flow, h.session().step, h.session().waiting) == ("checkin", "ask", True)


def rename_checkin_question(root: Path, new_id: str) -> None:
    edit(
        root / "flows" / "daily.yaml",
        "    - id: ask\n      ask: checkin.question\n",
        f"    - id: {new_id}\n      ask: checkin.question\n",
    )
    edit(root / "flows" / "keywords.yaml", "answer_as: checkin.ask", f"answer_as: checkin.{new_id}")


# --- ProgramHolder --------------------------------------------------------------------------------
def test_a_broken_edit_keeps_the_last_good_program_and_a_fix_replaces_it(root: Path) -> None:
    # given a holder running a good program
    holder = ProgramHolder(ProgramFiles.at(root), CrisisPolicy())
    assert holder.reload() == []
    good = holder.current
    # when an admin saves a flow file with a bad indentation
    daily = root / "flows" / "daily.yaml"
    edit(daily, *BAD_INDENT)
    problems = holder.reload()
    # then the problems come back with file and line, and the old program is still the one in use
    assert [str(p).split(": ")[0] for p in problems] == [f"{daily}:39:6"]
    assert holder.current is good
    # when the admin fixes it (and changes the question's wording at the same time)
    edit(daily, BAD_INDENT[1], BAD_INDENT[0])
    edit(
        root / "messages" / "en" / "checkin.yaml",
        "Sorry, I didn't catch that.",
        "Sorry, I missed that.",
    )
    assert holder.reload() == []
    # then the new program is used
    assert holder.current is not good
    reask = holder.current.catalogs.get("checkin.reask", "en")
    assert reask is not None and reask.base.text.startswith("Sorry, I missed that.")


def test_reload_if_changed_loads_only_after_a_file_changed(root: Path) -> None:
    holder = ProgramHolder(ProgramFiles.at(root), CrisisPolicy())
    holder.reload()
    first = holder.current
    assert holder.reload_if_changed() == []
    assert holder.current is first
    edit(root / "flows" / "daily.yaml", *BAD_INDENT)
    assert len(holder.reload_if_changed()) == 1
    assert holder.current is first
    assert holder.reload_if_changed() == [], "a broken file is reported once, not on every tick"


def test_a_program_broken_from_the_start_is_never_current(root: Path) -> None:
    edit(root / "flows" / "daily.yaml", *BAD_INDENT)
    holder = ProgramHolder(ProgramFiles.at(root), CrisisPolicy())
    assert holder.reload() != []
    with pytest.raises(RuntimeError, match="craftbot flows validate"):
        _ = holder.current


# --- families while the program changes -----------------------------------------------------------
def test_a_family_is_answered_by_the_last_good_program_while_an_edit_is_broken(
    harness: Harness, root: Path
) -> None:
    # given a family at the evening check-in question
    at_evening_checkin(harness)
    # when an admin saves a broken flow and the service reloads
    edit(root / "flows" / "daily.yaml", *BAD_INDENT)
    assert harness.app.ctx.program.reload() != []
    # then the family's answer is understood as before
    assert ids(harness.say("1"))[0].startswith("reward.")
    assert harness.checkins() == ["non_use"]


def test_a_reply_to_a_question_an_edit_renamed_gets_the_question_again_then_works(
    harness: Harness, root: Path
) -> None:
    # given a family at the check-in question (step 'ask')
    at_evening_checkin(harness)
    # when an admin renames that step and the service reloads
    rename_checkin_question(root, "question")
    assert harness.app.ctx.program.reload() == []
    # then their reply restarts the check-in flow: the question comes again, nothing is recorded
    assert ids(harness.say("1")) == ["checkin.question"]
    assert harness.checkins() == []
    assert (harness.session().step, harness.session().waiting) == ("question", True)
    # and answering it now works as usual
    assert ids(harness.say("1"))[0].startswith("reward.")
    assert harness.checkins() == ["non_use"]


def test_a_question_an_edit_removed_does_not_leave_the_family_stuck_when_no_reply_comes(
    harness: Harness, root: Path
) -> None:
    # given a family at the check-in question, which an edit then renames
    at_evening_checkin(harness)
    rename_checkin_question(root, "question")
    assert harness.app.ctx.program.reload() == []
    # when they never reply and a day passes
    harness.advance(timedelta(hours=20))
    assert (harness.session().flow, harness.session().step) != ("checkin", "ask")
    # then the next evening's check-in comes and works
    assert ids(harness.until("checkin"))[-1] == "checkin.question"
    assert ids(harness.say("2"))[0].startswith("step_back.")
    assert harness.checkins() == ["use"]


def test_a_reply_to_a_flow_an_edit_removed_gets_the_fallback(harness: Harness, root: Path) -> None:
    # given a family that asked REWARDS and is being asked what their loved one enjoys
    for text in ONBOARDING:
        harness.say(text)
    assert ids(harness.say("REWARDS")) == ["keyword.rewards_ask"]
    # when an admin deletes the rewards flow and its keyword, and the service reloads
    flows = root / "flows" / "keyword_flows.yaml"
    text = flows.read_text(encoding="utf-8")
    flows.write_text(
        text[: text.index("rewards:\n  description")]
        + text[text.index("fallback:\n  description") :],
        encoding="utf-8",
    )
    edit(
        root / "flows" / "keywords.yaml",
        "  rewards:\n    words:\n      en: [REWARDS]\n      es: [GUSTOS, RECOMPENSAS]\n"
        "      any: [/rewards]\n    flow: rewards\n",
        "",
    )
    assert harness.app.ctx.program.reload() == []
    # then their answer gets the kind fallback pointer, nothing is saved, and they are in no flow
    assert ids(harness.say("fishing and pizza night")) == ["system.fallback"]
    assert "rewards" not in harness.session().profile
    assert harness.session().flow is None


# --- STOP, START and HELP cannot be switched off by an edit ---------------------------------------
def _stop_keyword() -> str:
    """The shipped STOP keyword, whole: from `  stop:` to the end of its entry."""
    text = (REPO_ROOT / "flows" / "keywords.yaml").read_text(encoding="utf-8")
    start = text.index("  stop:\n")
    end = text.index("    before_consent: true\n", start) + len("    before_consent: true\n")
    return text[start:end]


STOP_KEYWORD = _stop_keyword()
HELP_FOR_ALL = "    flow: help\n    when: any\n"


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (STOP_KEYWORD, "", "no keyword answers STOP"),
        ("      en: [START, UNSTOP]\n", '      en: ["YES"]\n', "START"),
        (HELP_FOR_ALL, "    flow: help\n", "only `when: active`"),
        ("    - id: opt_out\n      do: opt_out\n", "", "never runs `do: opt_out`"),
    ],
    ids=["stop removed", "start words cut", "help only when active", "stop never opts out"],
)
def test_a_running_service_refuses_an_edit_that_switches_off_stop_start_or_help(
    harness: Harness, root: Path, old: str, new: str, said: str
) -> None:
    # given a family at the evening check-in, on a service running the shipped program
    at_evening_checkin(harness)
    good = harness.app.ctx.program.current
    # when an admin saves keywords or flows that would leave STOP, START or HELP not working
    target = "keyword_flows.yaml" if "opt_out" in old else "keywords.yaml"
    edit(root / "flows" / target, old, new)
    problems = harness.app.ctx.program.reload()
    # then the reload is refused, saying why, and the last good program stays in use
    assert any(said in str(p) for p in problems), problems
    assert harness.app.ctx.program.current is good
    # and STOP still stops, HELP still answers after it, and START still starts again
    assert ids(harness.say("STOP")) == ["keyword.stopped"]
    assert harness.contact() is not None and harness.contact().status == "opted_out"  # type: ignore[union-attr]
    assert ids(harness.say("HELP"))[:1] == ["keyword.help.US"]
    assert ids(harness.say("START")) == ["keyword.started"]
    assert harness.contact().status == "active"  # type: ignore[union-attr]
