"""Broken-flow fixtures paired with the exact errors an admin sees, and `craftbot flows validate`.

Each folder in tests/data/broken_flows/ holds files that replace or add to a copy of the shipped
program, and expected.txt with every error line, paths relative to the program root. Run with
CRAFTBOT_REGEN=1 to rewrite expected.txt from what the validator says now (then review the diff).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.program_files import ProgramFiles, load_program
from bot.settings import REPO_ROOT

CASES_DIR = Path(__file__).parent / "data" / "broken_flows"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
EXPECTED = "expected.txt"
REGEN_ENV = "CRAFTBOT_REGEN"


def copy_shipped_program(root: Path) -> Path:
    """flows/ and messages/ as shipped, in a folder the test may break."""
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, root / part)
    return root


def overlay(case_dir: Path, root: Path) -> None:
    for path in sorted(case_dir.rglob("*")):
        if path.is_file() and path.name != EXPECTED:
            target = root / path.relative_to(case_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def relative_lines(text: str, root: Path) -> list[str]:
    """Errors as the fixtures spell them: paths relative to the program root."""
    for prefix in {str(root.resolve()) + os.sep, str(root) + os.sep}:
        text = text.replace(prefix, "")
    return [line for line in text.splitlines() if line.strip()]


def validate_case(case_dir: Path, root: Path) -> tuple[list[str], list[str]]:
    """(errors found, errors expected) for one case; with CRAFTBOT_REGEN=1 the expected file is
    rewritten."""
    copy_shipped_program(root)
    overlay(case_dir, root)
    loaded, problems = load_program(ProgramFiles.at(root))
    actual = relative_lines("\n".join(map(str, problems)), root)
    expected_path = case_dir / EXPECTED
    if os.environ.get(REGEN_ENV) == "1":
        expected_path.write_text("".join(f"{line}\n" for line in actual), encoding="utf-8")
    expected = (
        expected_path.read_text(encoding="utf-8").splitlines() if expected_path.exists() else []
    )
    assert (loaded is None) == bool(problems), "a program loads exactly when there is no problem"
    return actual, expected


def test_the_shipped_program_is_valid() -> None:
    # given the flows and messages in the repository
    # when they are loaded
    loaded, problems = load_program(ProgramFiles.at(REPO_ROOT))
    # then there is nothing to fix
    assert problems == []
    assert loaded is not None


def test_there_are_enough_broken_flow_cases_and_each_expects_an_error() -> None:
    assert len(CASES) >= 14
    for case in CASES:
        lines = (CASES_DIR / case / EXPECTED).read_text(encoding="utf-8").splitlines()
        assert lines, f"{case}: expected.txt is empty, but a broken program must report something"
        assert all(line.split(":")[1].isdigit() for line in lines), (
            f"{case}: every error names file:line"
        )


@pytest.mark.parametrize("case", CASES)
def test_a_broken_program_reports_exactly_the_expected_errors(case: str, tmp_path: Path) -> None:
    # given the shipped program with this case's broken files laid over it
    # when it is loaded
    actual, expected = validate_case(CASES_DIR / case, tmp_path)
    # then every error is reported, each with file:line:col, and nothing else
    assert actual == expected


def test_several_errors_in_one_file_are_all_reported(tmp_path: Path) -> None:
    actual, _ = validate_case(CASES_DIR / "several_errors_one_file", tmp_path)
    assert len(actual) >= 5
    assert {line.split(":")[0] for line in actual} == {"flows/onboarding.yaml"}


def test_the_regeneration_flag_rewrites_expected_from_actual_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a case whose expected.txt is out of date
    case_dir = tmp_path / "case"
    shutil.copytree(CASES_DIR / "bad_timeout", case_dir)
    (case_dir / EXPECTED).write_text("flows/daily.yaml:1:1: an old message\n", encoding="utf-8")
    # when the check runs with CRAFTBOT_REGEN=1
    monkeypatch.setenv(REGEN_ENV, "1")
    actual, expected = validate_case(case_dir, tmp_path / "program")
    # then expected.txt now holds what the validator says
    assert expected == actual
    assert (case_dir / EXPECTED).read_text(encoding="utf-8") == (
        CASES_DIR / "bad_timeout" / EXPECTED
    ).read_text(encoding="utf-8")


def craftbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRAFTBOT_PROGRAM_DIR": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_validate_accepts_the_shipped_program(tmp_path: Path) -> None:
    root = copy_shipped_program(tmp_path / "program")
    result = craftbot("flows", "validate", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert result.stderr == ""


def test_cli_validate_refuses_a_broken_copy_with_file_and_line(tmp_path: Path) -> None:
    # given a copy of the program with a typo in a step's next
    root = copy_shipped_program(tmp_path / "program")
    overlay(CASES_DIR / "next_unknown_step", root)
    # when an admin validates it
    result = craftbot("flows", "validate", str(root), cwd=tmp_path)
    # then it exits 1 and says where, on stderr
    assert result.returncode == 1
    errors = relative_lines(result.stderr, root)
    expected = (CASES_DIR / "next_unknown_step" / EXPECTED).read_text(encoding="utf-8").splitlines()
    assert errors[:-1] == expected
    assert "problem(s) found" in errors[-1]
    assert result.stdout == ""


def test_cli_validate_takes_the_flows_folder_too(tmp_path: Path) -> None:
    root = copy_shipped_program(tmp_path / "program")
    overlay(CASES_DIR / "bad_timeout", root)
    result = craftbot("flows", "validate", str(root / "flows"), cwd=tmp_path)
    assert result.returncode == 1
    assert "flows/daily.yaml:18:16:" in relative_lines(result.stderr, root)[0]
