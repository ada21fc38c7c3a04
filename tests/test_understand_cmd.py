"""`craftbot understand`: a coach sees why a message was read as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main


def test_it_prints_the_tier_the_signs_their_modifiers_and_what_the_bot_would_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["understand", "he", "used", "to", "hit", "me,", "and", "he", "still", "does"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tier: emergency (violence) [en]")
    assert 'past: "used to"' in out and 'present: "still"' in out
    assert "would: reply crisis.violence.US [en] at once, alert the team" in out
    assert "crisis.yaml:" in out  # the rule behind the sign, to fix it without Python


def test_locale_and_country_choose_the_reply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["understand", "--locale", "es", "--country", "GB", "no respira"]) == 0
    assert "would: reply crisis.overdose.GB [es]" in capsys.readouterr().out


def test_a_missing_or_broken_lexicon_folder_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["understand", "hi", "--messages", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "en/understanding").mkdir(parents=True)
    (tmp_path / "en/understanding/crisis.yaml").write_text("signs: [\n", encoding="utf-8")
    assert main(["understand", "hi", "--messages", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "problem(s)" in err and "crisis.yaml:" in err and "Traceback" not in err
