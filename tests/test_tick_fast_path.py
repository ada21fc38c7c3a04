"""The fan-out's fast path (no ORM objects) writes exactly what the general path writes.

A mixed population (tests/data/tick_fast_path.yaml: zones with and without DST, relationships,
names, SMS, Telegram and email, families who pause, stop, answer, write in crisis or join half
way) lives through the same days twice: once with every due timer through ORM objects and
`apply_events`, once with the fast path. Every table must come out the same, row for row.

On SQLite only: timers due at the same instant come back in rowid order there, so both runs see
them in the same order. PostgreSQL returns such ties in no fixed order (two runs of the ORM path
alone differ), so there the multi-worker and time-rule tests check the fast path instead.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from bot.app import App, build
from bot.catalog.catalog import RELATIONSHIPS, load_catalogs
from bot.catalog.render import Audience, Renderer, render
from bot.channels.base import InboundMessage
from bot.runtime import schedule
from bot.runtime.admin import Enrollment, enroll
from bot.runtime.tick import Tick, TickReport
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from tests.fictional import phone

SCENARIO = Path(__file__).parent / "data" / "tick_fast_path.yaml"
MESSAGES = Path(__file__).resolve().parent.parent / "messages"
Tables = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Family:
    channel: str
    address: str
    enrollment: Enrollment | None  # None: joins by writing
    quiet: tuple[str, str] | None
    edits: dict[str, str | None]  # columns changed after enrolment


@dataclass(frozen=True)
class Write:
    at: datetime
    channel: str
    address: str
    text: str


def address(channel: str, i: int) -> str:
    return {
        "sms": phone(i),
        "telegram": str(10_000_000 + i),
        "email": f"family{i}@example.org",
    }[channel]


def population(plan: dict[str, Any]) -> tuple[list[Family], list[Write]]:
    """The families and what they write, in time order."""
    start = datetime.fromisoformat(plan["start"])
    families, writes = [], []

    def pick(key: str, i: int) -> Any:
        return plan[key][i % len(plan[key])]

    for i in range(plan["families"]):
        channel = pick("channels", i)
        lesson, checkin = pick("times", i)
        quiet = pick("quiet", i)
        families.append(
            Family(
                channel,
                address(channel, i),
                Enrollment(
                    channel,
                    address(channel, i),
                    pick("names", i),
                    pick("relationships", i),
                    pick("loved_ones", i),
                    pick("zones", i),
                    lesson,
                    checkin,
                ),
                tuple(quiet) if quiet else None,
                {e["column"]: e["value"] for e in plan["edits"] if i % e["every"] == e["from"]},
            )
        )
        for rule in plan["writes"]:
            if i % rule["every"] == rule["from"]:
                writes += [
                    Write(start + timedelta(hours=h), channel, address(channel, i), text)
                    for h, text in rule["says"]
                ]
    for j, joiner in enumerate(plan["joiners"]):
        channel = pick("channels", j)
        where = address(channel, 900 + j)
        families.append(Family(channel, where, None, None, {}))
        writes += [
            Write(start + timedelta(hours=h), channel, where, text) for h, text in joiner["says"]
        ]
    return families, sorted(writes, key=lambda w: w.at)


def live(url: str, fast: bool, batch: int) -> tuple[Tables, list[TickReport]]:
    """Enrol the population, then tick every few minutes for the scenario's days; the tables after."""
    plan = yaml.safe_load(SCENARIO.read_text())
    families, writes = population(plan)
    start = datetime.fromisoformat(plan["start"])
    down = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in plan["down"]]
    now = [start]
    app = build(
        Settings(database_url=url),
        channels={},
        clock=lambda: now[0],
        rng=random.Random(7),
        rate_limits=False,
    )
    reports: list[TickReport] = []
    try:
        for family in families:
            if family.enrollment is not None:
                _enrol(app, family, start)
        step, end = (
            timedelta(minutes=plan["tick_every_minutes"]),
            start + timedelta(days=plan["days"]),
        )
        pending = iter(writes)
        upcoming = next(pending, None)
        while now[0] <= end:
            while upcoming is not None and upcoming.at <= now[0]:
                app.runtime.handle_inbound(
                    InboundMessage(
                        upcoming.channel,
                        upcoming.address,
                        upcoming.text,  # type: ignore[arg-type]
                        f"t-{len(reports)}-{upcoming.address}-{upcoming.at:%s}",
                    ),
                    upcoming.at,
                )
                upcoming = next(pending, None)
            if not any(a <= now[0] < b for a, b in down):
                reports.append(Tick(app.runtime, now[0], fast=fast).run(batch))
            now[0] += step
        return dump(app), reports
    finally:
        app.ctx.db.kw["bind"].dispose()


def _enrol(app: App, family: Family, at: datetime) -> None:
    assert family.enrollment is not None
    contact_id = enroll(app.ctx, family.enrollment, at)
    if family.quiet is not None:
        with app.ctx.db.begin() as db:
            db.execute(
                update(m.Contact)
                .where(m.Contact.id == contact_id)
                .values(quiet_start=family.quiet[0], quiet_end=family.quiet[1])
            )
            contact = db.get(m.Contact, contact_id)
            assert contact is not None
            schedule.reschedule(db, contact, app.settings, at)
    if family.edits:  # behind the program's back: the timers stay as they were
        with app.ctx.db.begin() as db:
            db.execute(update(m.Contact).where(m.Contact.id == contact_id).values(**family.edits))


def dump(app: App) -> Tables:
    """Every table's rows in primary-key order, as the database stores them (text for times on SQLite)."""
    with app.ctx.db() as db:
        conn = db.connection()
        return {
            table.name: [
                tuple(row)
                for row in conn.exec_driver_sql(
                    f"SELECT * FROM {table.name} ORDER BY {', '.join(c.name for c in table.primary_key.columns)}"
                )
            ]
            for table in m.Base.metadata.sorted_tables
        }


def first_difference(general: Tables, fast: Tables) -> str:
    for name, rows in general.items():
        if rows != fast[name]:
            for i, (a, b) in enumerate(zip(rows, fast[name], strict=False)):
                if a != b:
                    return f"{name} row {i}:\n general {a}\n fast    {b}"
            return f"{name}: {len(rows)} rows through the ORM, {len(fast[name])} with the fast path"
    return ""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[Any]:
    def make(name: str) -> str:
        url = f"sqlite:///{tmp_path / name}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url

    yield make


@pytest.mark.parametrize("batch", [500, 7])
def test_fast_path_writes_the_same_rows_as_the_orm_path(
    sqlite_url: Any, batch: int, program_loaded_once: None
) -> None:
    # given the same families, writes and downtime, ticked with batches of `batch` timers
    # when one run fires every timer through the ORM and the other takes the fast path
    general, general_reports = live(sqlite_url("general.db"), fast=False, batch=batch)
    fast, fast_reports = live(sqlite_url("fast.db"), fast=True, batch=batch)
    # then the fast path did most of the work and the general path the rest
    assert sum(r.fast for r in fast_reports) > 0.6 * sum(r.fired for r in fast_reports)
    assert sum(r.fast for r in general_reports) == 0
    assert sum(r.timeouts for r in fast_reports) > 0 and sum(r.skipped for r in fast_reports) > 0
    # and every table holds the same rows, and every tick reported the same
    assert len(general["outbound_messages"]) > 500
    assert not first_difference(general, fast), first_difference(general, fast)
    assert general == fast
    assert [(r.fired, r.skipped, r.timeouts, r.outbox_ids) for r in general_reports] == [
        (r.fired, r.skipped, r.timeouts, r.outbox_ids) for r in fast_reports
    ]


def test_renderer_gives_every_family_the_words_render_gives() -> None:
    # given the shipped catalogs and profiles with and without each field the words depend on
    catalogs, problems = load_catalogs(MESSAGES)
    assert not problems
    org = {"org": "Family Support", "org_contact": "call 555-0100"}
    profiles = [
        {
            "relationship": rel,
            "name": name,
            "loved_one": loved,
            "rewards": rewards,
            "lesson_time": "09:00",
        }
        for rel in (*RELATIONSHIPS, "")
        for name in ("", "Zoë")
        for loved in ("", "Jo")
        for rewards in ("", "fishing")
    ]
    renderer = Renderer()
    checked = 0
    for locale in catalogs.locales:
        for message_id in catalogs.ids(locale):
            for channel in ("sms", "telegram", "email", "console"):
                for profile in profiles:
                    audience = Audience(channel, locale, profile)
                    # when one Renderer renders them all, in any order
                    # then each text is what render() gives that family
                    assert renderer.render(catalogs, message_id, audience, org) == render(
                        catalogs, message_id, audience, org
                    )
                    checked += 1
    assert checked > 10_000
    # and an unknown message is refused the same way
    with pytest.raises(KeyError, match="lesson.nope"):
        renderer.render(catalogs, "lesson.nope", Audience("sms"), org)
