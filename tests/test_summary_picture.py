"""The family's own picture (issue 16): the weekly summary's words and its four-week calendar.

The sentences are chosen by what is true of the week; the picture is drawn from days and
numbers only, so neither the image nor its file names the loved one; on Telegram and email the
summary goes with the picture, on SMS with a text calendar.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.channels.base import OutboundMessage
from bot.runtime.summaries import Picture, sentences
from bot.runtime.summary_picture import COLOURS, SIZE, cell_centre, draw
from bot.settings import REPO_ROOT, Settings
from bot.simulation import Harness

SUNDAY = date(2026, 3, 29)
FIRST_MONDAY = date(2026, 3, 2)
# A sample family's four weeks: a pattern that puts every kind of day in every week.
PATTERN = ("non_use", "use", None, "unsure", "non_use", "non_use", "use")
DAYS = {FIRST_MONDAY + timedelta(days=i): PATTERN[i % 7] for i in range(28)}
WELLBEING = [(date(2026, 3, 9), 2), (date(2026, 3, 16), 3), (date(2026, 3, 23), 4)]
SAMPLE_IMAGE = REPO_ROOT / "docs" / "images" / "summary-picture.png"


def sample() -> Picture:
    return Picture(SUNDAY, DAYS, WELLBEING)


def hex_of(pixel: tuple[int, ...]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*pixel[:3])


def png_text_chunks(data: bytes) -> list[bytes]:
    """Every text chunk of a PNG (tEXt, zTXt, iTXt), decompressed where needed."""
    found, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            found.append(body)
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found.append(key + b"\0" + zlib.decompress(rest[1:]))
        at += 12 + length
    return found


def test_the_picture_colours_each_day_by_its_answer_and_names_no_one() -> None:
    picture = sample()
    png = draw(picture.media())
    image = Image.open(BytesIO(png))
    assert image.size == SIZE == (800, 600)
    for index in range(28):
        day = FIRST_MONDAY + timedelta(days=index)
        assert hex_of(image.getpixel(cell_centre(index))) == COLOURS[DAYS[day]], day
    # no metadata at all: no Software, no Title, nothing a name could hide in
    assert png_text_chunks(png) == []
    assert "Jake" not in picture.media() and b"Jake" not in png
    # the docs show this sample (docs/content.md): a change of layout or colours must refresh it
    shown = Image.open(SAMPLE_IMAGE)
    assert shown.size == image.size, "run: python -m tests.test_summary_picture"
    for index in range(28):
        spot = cell_centre(index)
        assert shown.getpixel(spot) == image.getpixel(spot), (
            "run: python -m tests.test_summary_picture"
        )


def test_the_encouraging_sentence_is_true_of_the_week() -> None:
    ids, values = sentences(sample(), "week")
    assert ids == [
        "summary.intro",
        "summary.days",
        "summary.wellbeing",
        "summary.true_wellbeing_up",  # 4 after 3; the same non-use days as the week before
    ]
    assert values == {"non_use_days": "3", "use_days": "2", "unsure_days": "1", "wellbeing": "4"}
    quiet = Picture(SUNDAY, {}, [])
    assert sentences(quiet, "progress")[0] == [
        "summary.progress_intro",
        "summary.days_none",
        "summary.true_still_here",
    ]
    hard = Picture(SUNDAY, {SUNDAY: "use"}, [])
    assert sentences(hard, "week")[0][-1] == "summary.true_kept_going"
    better = Picture(SUNDAY, {**DAYS, SUNDAY - timedelta(days=4): "non_use"}, [])
    assert sentences(better, "week")[0][-1] == "summary.true_more_non_use"


def test_the_sms_calendar_is_the_same_four_weeks_in_signs() -> None:
    assert sample().calendar_rows() == ["+x.?++x"] * 4


@pytest.mark.parametrize("channel", ["telegram", "email", "sms"])
def test_a_sunday_summary_carries_the_picture_where_the_channel_can_show_one(
    tmp_path: Path, channel: str
) -> None:
    zone = ZoneInfo("America/Chicago")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", default_timezone=zone.key)
    address = {"sms": "+15550179", "telegram": "5550179", "email": "pic@example.org"}[channel]
    harness = Harness(settings, datetime(2026, 3, 2, 10, 0, tzinfo=zone), channel, address)
    try:
        for text in ("hi", "yes", "Ana", "1", "no", "Jake", "central", "9am", "7pm"):
            harness.say(text)
        harness.advance_to(datetime(2026, 3, 8, 19, 0, tzinfo=zone))  # Sunday's check-in
        harness.say("1")
        sent: list[OutboundMessage] = harness._delivered  # what the channel was handed
        [summary] = [m for m in sent if m.text.startswith("Your week in brief, Ana.")]
    finally:
        harness.close()
    if channel == "sms":
        assert summary.picture is None and re.search(r"\n[+x?.]{7}$", summary.text)
    else:
        assert summary.picture and Image.open(BytesIO(summary.picture)).size == SIZE
        assert "Your last four weeks" in summary.text and "Jake" not in (summary.media or "")
        days = dict(json.loads(summary.media or "{}")["days"])
        assert days["2026-03-08"] == "non_use"


@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_a_discreet_familys_summary_starts_with_the_neutral_line(
    tmp_path: Path, channel: str
) -> None:
    # given a family who chose discreet mode at sign-up, calling their loved one "Sam"
    zone = ZoneInfo("America/Chicago")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", default_timezone=zone.key)
    address = {"sms": "+15550178", "telegram": "5550178"}[channel]
    harness = Harness(settings, datetime(2026, 3, 2, 10, 0, tzinfo=zone), channel, address)
    try:
        for text in ("hi", "yes", "Ana", "1", "yes", "Sam", "central", "9am", "7pm"):
            harness.say(text)
        # when Sunday's check-in is answered and the week's summary is sent
        harness.advance_to(datetime(2026, 3, 8, 19, 0, tzinfo=zone))
        harness.say("1")
        sent: list[OutboundMessage] = harness._delivered
        [summary] = [m for m in sent if "Your week in brief" in m.text]
    finally:
        harness.close()
    # then what a lock screen shows is the neutral line, not the summary of use days
    first_line = summary.text.splitlines()[0]
    assert first_line == "Hi Ana, a note for you.", summary.text


if __name__ == "__main__":  # refresh the docs' sample picture
    SAMPLE_IMAGE.parent.mkdir(exist_ok=True)
    SAMPLE_IMAGE.write_bytes(draw(sample().media()))
    print(SAMPLE_IMAGE)
