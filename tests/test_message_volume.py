"""The consent and HELP texts say how many messages a week a family gets: measured, not guessed.

Two families live four weeks of the whole program on the simulation harness (lessons, check-ins,
nudges, the safety, stage, wellbeing and feedback questions, the Sunday summary), one answering
every evening "not using", one "using" (which adds a self-care idea to each step-back reply).
Every message the bot sends counts, the replies to their own answers included. The range the
texts state must hold every week for both.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings
from bot.simulation import Harness
from tests.program import shipped

ZONE = ZoneInfo("America/Chicago")
START = datetime(2026, 3, 2, 10, 0, tzinfo=ZONE)  # a Monday
WEEKS = 4
# What the family answers to each question the program asks (the check-in: the parameter).
ANSWERS = {
    "safety_question": "no",
    "stage_question": "1",
    "wellbeing_question": "3",
    "lesson_feedback": "4",
}


def weekly_counts(tmp_path: Path, evening: str) -> list[int]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'volume.db'}", default_timezone=ZONE.key
    )
    harness = Harness(settings, START, "sms", "+15550178")
    try:
        for text in ("hi", "yes", "Ana", "1", "no", "Jake", "central", "9am", "7pm"):
            harness.say(text)
        counts = []
        for week in range(1, WEEKS + 1):
            end, sent = START + timedelta(days=7 * week), 0
            while (due := harness.next_due()) is not None and due <= end:
                sent += len(harness.advance_to(due))
                session = harness.session()
                if session.waiting:
                    reply = (
                        evening if session.flow == "checkin" else ANSWERS.get(session.flow or "")
                    )
                    sent += len(harness.say(reply)) if reply else 0
            counts.append(sent + len(harness.advance_to(end)))
        return counts
    finally:
        harness.close()


def stated_ranges() -> dict[str, tuple[int, int]]:
    """The range each consent and HELP text states (every country version, both languages)."""
    catalogs, ranges = shipped().catalogs, {}
    for locale in ("en", "es"):
        for message_id in catalogs.ids(locale):
            if message_id.split(".")[:2] not in (
                ["onboarding", "consent"],
                ["onboarding", "enrolled"],
                ["keyword", "help"],
            ):
                continue
            entry = catalogs.get(message_id, locale)
            assert entry is not None
            words = " ".join(f for f in (entry.base.text, entry.base.sms, entry.base.long) if f)
            found = re.search(
                r"(\d+)(?: to | a |-)(\d+) (?:messages a week|mensajes (?:por semana|semanales))",
                words,
            )
            assert found, f"{message_id} ({locale}) states no weekly range: {words!r}"
            ranges[f"{message_id} ({locale})"] = (int(found.group(1)), int(found.group(2)))
    return ranges


@pytest.mark.parametrize(("evening", "answer"), [("1", "not using"), ("2", "using")])
def test_the_weekly_messages_stay_within_what_the_consent_text_says(
    tmp_path: Path, evening: str, answer: str
) -> None:
    counts = weekly_counts(tmp_path, evening)
    ranges = stated_ranges()
    assert len(ranges) >= 6  # consent, enrolled welcome and HELP, in English and Spanish
    for where, (low, high) in ranges.items():
        assert all(low <= n <= high for n in counts), (
            f"a family answering '{answer}' got {counts} messages a week; {where} says {low} to "
            f"{high}"
        )
