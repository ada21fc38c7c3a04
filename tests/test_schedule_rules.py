"""Issue 5's time rules through the real runtime: quiet hours, one a day, catch-up, DST, PAUSE/STOP.

Hypothesis draws zones, times, quiet hours, start instants near DST changes, tick cadences and
downtime (SQLite, one rig for all examples); a fixed set of the same walks runs on SQLite and
PostgreSQL. tests/workers/walk.py works out what must have been sent and checks it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.base import InboundMessage
from bot.scheduling.clock import in_quiet_hours
from tests.workers import walk as w
from tests.workers.rig import Rig, rig

ZONES = ("America/Phoenix", "Europe/Madrid", "America/New_York", "Australia/Lord_Howe")
# DST changes in 2026 (UTC): New York, Madrid, Lord Howe (30 minutes). Phoenix has none: it gets
# them all.
CHANGES = {
    "America/New_York": (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)),
    "Europe/Madrid": (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    "Australia/Lord_Howe": (
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ),
}
CHANGES["America/Phoenix"] = CHANGES["America/New_York"]
QUIET = (
    None,
    ("22:00", "07:00"),
    ("00:00", "00:00"),
    ("12:00", "13:30"),
)  # default, own, none, midday
AWKWARD_TIMES = ("02:30", "01:30", "02:15", "00:00", "23:45", "20:50", "07:30", "21:30")


@st.composite
def hhmm(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(AWKWARD_TIMES))
    return f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 45])):02d}"


@st.composite
def families(draw: st.DrawFn) -> w.Family:
    return w.Family(
        draw(st.sampled_from(ZONES)), draw(hhmm()), draw(hhmm()), draw(st.sampled_from(QUIET))
    )


@st.composite
def walks(draw: st.DrawFn) -> w.Walk:
    people = tuple(draw(st.lists(families(), min_size=1, max_size=3)))
    change = draw(st.sampled_from(CHANGES[people[0].zone]))
    start = change - timedelta(minutes=draw(st.integers(0, 60 * 60)))
    cadence = timedelta(minutes=draw(st.sampled_from([15, 35, 60, 150])))
    down = tuple(
        draw(
            st.lists(
                st.tuples(st.integers(0, 70 * 60), st.integers(30, 26 * 60)).map(
                    lambda p: (timedelta(minutes=p[0]), timedelta(minutes=p[1]))
                ),
                max_size=2,
            )
        )
    )
    says: list[tuple[int, timedelta, str]] = []
    if draw(st.booleans()):
        says.append((0, timedelta(minutes=draw(st.integers(0, 70 * 60))), "thanks for these tips"))
    if draw(st.booleans()):
        paused_at = draw(st.integers(0, 60 * 60))
        says.append(
            (
                0,
                timedelta(minutes=paused_at),
                draw(st.sampled_from(["PAUSE", "PAUSE 1", "PAUSE 2"])),
            )
        )
        if draw(st.booleans()):
            says.append(
                (0, timedelta(minutes=paused_at + draw(st.integers(60, 40 * 60))), "RESUME")
            )
    return w.Walk(people, start, 72, cadence, down, tuple(says))


@pytest.fixture(scope="module")
def sqlite_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    url = f"sqlite:///{tmp_path_factory.mktemp('rules') / 'rules.db'}"
    with rig(url, datetime(2026, 1, 1, tzinfo=UTC)) as made:
        yield made


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(walk=walks())
def test_random_walks_keep_every_time_rule(sqlite_rig: Rig, walk: w.Walk) -> None:
    # given families in random zones with random times, enrolled near a DST change
    sqlite_rig.wipe()
    # when workers tick at a random cadence for three days, with downtime, while one family writes
    outcome = w.run(sqlite_rig, walk)
    # then quiet hours, one-a-day, catch-up, DST and PAUSE/RESUME all hold
    w.check(sqlite_rig, walk, outcome)


def _at(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=w.Family(zone).tz).astimezone(UTC)


FIXED = {
    # (d) spring forward: 02:30 does not exist on 8 March; no quiet hours so the time itself matters
    "new_york_spring_0230": w.Walk(
        (
            w.Family("America/New_York", "02:30", "02:30", ("00:00", "00:00")),
            w.Family("America/Phoenix", "02:30", "19:00"),
        ),
        _at("America/New_York", "2026-03-06 12:00"),
        72,
        timedelta(minutes=30),
    ),
    # (d) fall back: 01:30 happens twice on 1 November
    "new_york_fall_0130": w.Walk(
        (w.Family("America/New_York", "01:30", "01:30", ("00:00", "00:00")),),
        _at("America/New_York", "2026-10-30 12:00"),
        72,
        timedelta(minutes=30),
    ),
    # (d) Lord Howe jumps 30 minutes at 02:00; Madrid at 02:00 (lesson inside quiet hours waits for
    # 08:00)
    "lord_howe_and_madrid": w.Walk(
        (
            w.Family("Australia/Lord_Howe", "02:15", "20:50", ("12:00", "13:30")),
            w.Family("Europe/Madrid", "02:30", "22:00"),
        ),
        datetime(2026, 3, 27, 12, tzinfo=UTC),
        72,
        timedelta(minutes=30),
    ),
    # (c) a deploy from 07:00 to 14:00 local on 9 March and from 18:30 to 23:00 on 10 March
    "downtime": w.Walk(
        (w.Family("America/New_York", "09:00", "19:00"),),
        _at("America/New_York", "2026-03-08 12:00"),
        72,
        timedelta(minutes=10),
        (
            (timedelta(hours=19), timedelta(hours=7)),
            (timedelta(hours=54, minutes=30), timedelta(hours=4, minutes=30)),
        ),
    ),
    # (e) PAUSE 2 days, then a pause until RESUME
    "pause_and_resume": w.Walk(
        (w.Family("Europe/Madrid", "09:00", "19:00"),),
        datetime(2026, 6, 1, 6, tzinfo=UTC),
        120,
        timedelta(minutes=60),
        (),
        (
            (0, timedelta(hours=1), "PAUSE 2"),
            (0, timedelta(hours=74), "PAUSE"),
            (0, timedelta(hours=100), "RESUME"),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_walks_keep_every_time_rule(db_url: str, name: str) -> None:
    walk = FIXED[name]
    with rig(db_url, walk.start) as made:
        outcome = w.run(made, walk)
        w.check(made, walk, outcome)
        # and the walk was not empty: each family got lessons on most days
        for contact_id in outcome.ids:
            assert (
                sum(
                    r.message_id.startswith(("lesson.", "review.")) for r in made.outbox(contact_id)
                )
                >= 2
            )


def test_reply_written_at_2300_goes_at_once_and_one_past_its_window_waits_until_0800(
    db_url: str,
) -> None:
    # given a family in New York, enrolled in the afternoon
    start = _at("America/New_York", "2026-03-07 15:00")
    with rig(db_url, start) as made:
        contact_id = made.enroll(w.address(0), start, "America/New_York")
        made.tick(start)
        # when they write at 23:00 local, and again at 23:10 while no worker runs
        night = _at("America/New_York", "2026-03-07 23:00")
        made.say(w.address(0), "thanks for these tips", night)
        answered = [r for r in made.outbox(contact_id) if r.in_reply_to is not None]
        late = InboundMessage("sms", w.address(0), "thanks again", "rig-while-down")
        made.app.runtime.handle_inbound(late, night + timedelta(minutes=10))
        made.tick(_at("America/New_York", "2026-03-08 03:00"))  # the night DST starts
        held = [r for r in made.outbox(contact_id) if r.status == "queued"]
        made.tick(_at("America/New_York", "2026-03-08 08:00"))
        # then the first answer went at 23:00 (issue 20)
        assert [(r.status, r.sent_at) for r in answered] == [("sent", night)]
        # and the second, not sent within 30 minutes, is held through the night and sent at
        # 08:00 (EDT by then)
        assert held and all(
            r.not_before == _at("America/New_York", "2026-03-08 08:00") for r in held
        )
        sent = {r.id: r for r in made.outbox(contact_id)}
        assert [sent[r.id].sent_at for r in held] == [
            _at("America/New_York", "2026-03-08 08:00")
        ] * len(held)


CRISIS_TEXT = "he's not breathing"


@pytest.mark.parametrize("stop_word", ["PAUSE", "STOP"])
def test_crisis_is_answered_at_night_while_paused_or_stopped(db_url: str, stop_word: str) -> None:
    # given a Madrid family who paused (or stopped) in the morning
    start = _at("Europe/Madrid", "2026-06-01 07:00")
    zone = w.Family("Europe/Madrid")
    with rig(db_url, start) as made:
        contact_id = made.enroll(w.address(0), start, zone.zone)
        made.say(w.address(0), stop_word, _at("Europe/Madrid", "2026-06-01 08:30"))
        # when the days pass, and at 23:30 on 2 June they write about an overdose
        for hour in range(9, 24 + 23):
            made.tick(start + timedelta(hours=hour - 7))
        night = _at("Europe/Madrid", "2026-06-02 23:30")
        made.say(w.address(0), CRISIS_TEXT, night)
        for hour in range(1, 40):
            made.tick(night + timedelta(hours=hour))
        rows = made.outbox(contact_id)
    # then no lesson, check-in or nudge ever went after the keyword
    routine = [
        r.message_id
        for r in rows
        if r.message_id.startswith(("lesson.", "review.", "checkin.", "selfcare."))
    ]
    assert routine == []
    # and the crisis reply went at once, at 23:30, inside quiet hours
    crisis = [r for r in rows if r.kind == "crisis"]
    assert crisis and all(r.sent_at == night and r.status == "sent" for r in crisis)
    assert in_quiet_hours(night, zone.tz, zone.hours)
    # and after STOP nothing else was sent but the confirmation and the crisis reply
    if stop_word == "STOP":
        assert {r.message_id for r in rows if r.status == "sent" and r.kind != "crisis"} == {
            "keyword.stopped"
        }


def test_lesson_time_inside_quiet_hours_goes_when_they_end(tmp_path: Path) -> None:
    # given a Phoenix family who chose 06:00 lessons and 22:30 check-ins (quiet hours 21:00-08:00)
    start = _at("America/Phoenix", "2026-05-01 12:00")
    family = w.Family("America/Phoenix", "06:00", "22:30")
    walk = w.Walk((family,), start, 72, timedelta(minutes=15))
    with rig(f"sqlite:///{tmp_path / 'q.db'}", start) as made:
        outcome = w.run(made, walk)
        w.check(made, walk, outcome)
        rows = [r for r in made.outbox(outcome.ids[0]) if r.status == "sent"]
    # then after the day they enrolled (its lesson went at once, at 12:00), lessons go at 08:00 and
    # check-ins at 20:30, every day
    later = [r for r in rows if r.sent_at is not None and r.sent_at > start + timedelta(hours=12)]
    lessons = {
        r.sent_at.astimezone(family.tz).strftime("%H:%M")
        for r in later
        if r.message_id.startswith("lesson.")
    }  # type: ignore[union-attr]
    checkins = {
        r.sent_at.astimezone(family.tz).strftime("%H:%M")
        for r in later
        if r.message_id == w.CHECKIN
    }  # type: ignore[union-attr]
    assert lessons == {"08:00"} and checkins == {"20:30"}
