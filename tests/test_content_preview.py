"""`craftbot content preview`: a coach reads six weeks as a parent and as a partner would."""

from __future__ import annotations

from pathlib import Path

from bot.cli.main import main
from tests.program import shipped


def preview(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "preview.md"
    assert main(["content", "preview", *args, "--out", str(out)]) == 0
    return out.read_text()


def test_the_preview_has_every_lesson_in_order_for_six_weeks(tmp_path: Path) -> None:
    text = preview(tmp_path, "--relationship", "parent", "--name", "Maria")
    lessons = shipped().program.flows.order.lessons
    positions = [
        text.index(f"Day {day}: {lesson_id}") for day, lesson_id in enumerate(lessons, start=1)
    ]
    assert positions == sorted(positions)
    assert [f"## Week {n}" in text for n in range(1, 7)] == [True] * 6
    assert "{" not in text and "your your" not in text.lower()
    assert "your child" in text  # no loved-one name given: a parent reads "your child"


def test_a_partner_reads_partner_words_and_their_loved_ones_name(tmp_path: Path) -> None:
    parent = preview(
        tmp_path, "--relationship", "parent", "--name", "Maria", "--loved-one", "Chris"
    )
    partner = preview(
        tmp_path, "--relationship", "partner", "--name", "Dana", "--loved-one", "Chris"
    )
    assert "Chris" in partner and "Dana" in partner
    catalogs = shipped().catalogs
    with_partner_variant = [
        e
        for e in catalogs.locales["en"].values()
        if e.id.startswith("lesson.") and "partner" in e.by_relationship
    ]
    assert with_partner_variant, "the catalog should carry partner versions of some lessons"
    assert parent != partner
    for entry in with_partner_variant:
        first_words = " ".join(
            entry.by_relationship["partner"].for_channel("sms").split()[:4]
        ).format(name="Dana", loved_one="Chris", Loved_one="Chris")
        assert first_words in partner, (
            f"{entry.id}: the partner version is not what a partner reads"
        )
