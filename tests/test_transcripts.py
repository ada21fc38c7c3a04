"""Whole conversations as data: every tests/data/transcripts/*.yaml replays through the real app."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from bot.transcript import run_transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "data" / "transcripts").glob("*.yaml"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path, tmp_path: Path) -> None:
    result = run_transcript(path, Settings(database_url=f"sqlite:///{tmp_path}/t.db"))
    assert result.ok, result.divergence


def test_a_divergence_names_the_step_its_line_and_what_differed(tmp_path: Path) -> None:
    script = tmp_path / "wrong.yaml"
    script.write_text(
        "start: 2026-03-02 10:00\n"
        "steps:\n"
        "  - say: hi\n"
        "    bot: [onboarding.consent]\n"
        "  - say: 'no'\n"
        "    bot: [onboarding.ask_name]\n"
    )
    result = run_transcript(script, Settings(database_url=f"sqlite:///{tmp_path}/t.db"))
    assert not result.ok
    assert result.divergence == (
        f"{script}:5:5: step 2: after `say 'no'` (Mon 02 Mar 10:00) the bot should send "
        "['onboarding.ask_name'] but sent ['onboarding.declined']"
    )
