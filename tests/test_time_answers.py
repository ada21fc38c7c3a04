"""The time questions of joining: a time inside a longer reply is read; a reply that could mean
two times is asked again, never guessed."""

from __future__ import annotations

import pytest

from bot.understanding.answers import read_time


@pytest.mark.parametrize(
    ("reply", "time"),
    [
        # before, each was told "Please include am or pm", though most had one
        ("8pm please", "20:00"),
        ("8 pm ok", "20:00"),
        ("6pm after work", "18:00"),
        ("at 20:00 please", "20:00"),
        ("seven pm", "19:00"),
        ("mornings around 7", "07:00"),
        ("evenings at 8", "20:00"),
        ("ocho de la noche", "20:00"),
        ("a las siete de la tarde", "19:00"),
        # as before
        ("8:30ish pm", "20:30"),
        ("7 in the morning", "07:00"),
        ("9am", "09:00"),
        ("13:00", "13:00"),
    ],
)
def test_a_time_inside_a_reply_is_read(reply: str, time: str) -> None:
    assert read_time(reply) == time


@pytest.mark.parametrize(
    "reply",
    [
        "7",  # morning or evening?
        "7pm or 8pm",
        "between 7 and 8 pm",
        "2 hours after 7pm",
        "the kids leave at 8, so 9am",
        "half past 7 pm",
        "maybe 7 or 8 in the evening",
        "whenever",
        "mornings",
    ],
)
def test_a_reply_that_could_mean_another_time_is_asked_again(reply: str) -> None:
    assert read_time(reply) is None
