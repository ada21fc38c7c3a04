"""How long the console's pages take on a filled database: part `console` of `python -m bench`.

Seeds SQLite with N families and 10 N messages in and out (the issue's target is 100,000 and
1,000,000), the check-ins those messages asked and two thirds answered, consents, 200 open
alerts (the worst case for the landing page) and questions to a coach; serves the real web app
with the console on under uvicorn on 127.0.0.1, signs in, and times each page over HTTP, one
request at a time (one coach's wait). Also times the stats figures computed afresh (the page
serves them from a few minutes' memo). Asserts nothing about time. Alone:
`python -m bench.console_pages --families 100000 --messages 1000000`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.console import stats
from bot.engine.session import Session
from bot.process import settle_heap
from storage import models as m
from tests.console_rig import ADMIN, Rig, console_rig

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SPAN_MINUTES = 100_000  # the messages spread over the 69 days before NOW
STEP = 20_000  # rows per INSERT batch
PAGES = ("alerts", "timeline", "search", "stats", "questions", "question", "program")


@dataclass
class Pages:
    families: int
    messages: int
    seed_s: float
    ms: dict[str, list[float]] = field(default_factory=dict)  # per page, every request
    stats_fresh_ms: list[float] = field(default_factory=list)  # the figures computed afresh

    def figure(self, page: str, share: float) -> float:
        ordered = sorted(self.ms[page])
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def seed(rig: Rig, families: int, messages: int, alerts: int = 200) -> None:
    draw = random.Random(1)
    session = Session(status="active", onboarded=True, lesson_pos=10).to_json()
    with rig.app.engine.begin() as conn:
        joined = [NOW - timedelta(days=draw.randint(0, 80)) for _ in range(families)]
        for start in range(0, families, STEP):
            ids = range(start + 1, min(start + STEP, families) + 1)
            conn.execute(
                insert(m.Contact),
                [
                    {
                        "id": i,
                        "channel": "sms",
                        "address": f"+1555{i:07d}",
                        "status": "active",
                        "locale": "en",
                        "name": f"Name{i}",
                        "timezone": "America/New_York",
                        "paused_indefinitely": False,
                        "session": session,
                        "created_at": joined[i - 1],
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )
            conn.execute(insert(m.Consent), [_consent(i, joined[i - 1], draw) for i in ids])
        for start in range(0, messages, STEP):
            _messages(conn, range(start, min(start + STEP, messages)), families, draw)
        conn.execute(
            insert(m.Alert),
            [
                {
                    "contact_id": draw.randint(1, families),
                    "category": draw.choice(("overdose", "suicide", "violence", "crisis_followup")),
                    "matched": "pills",
                    "text": "he took too many pills",
                    "at": NOW - timedelta(hours=n),
                    "notified": True,
                }
                for n in range(alerts)
            ],
        )
        conn.execute(insert(m.Question), [_question(n, families, draw) for n in range(2_000)])


def _consent(contact_id: int, joined: datetime, draw: random.Random) -> dict[str, Any]:
    stopped = draw.random() < 0.05  # a few opted out again (their one row: the opt-out)
    return {
        "contact_id": contact_id,
        "given": not stopped,
        "action": "opt_out" if stopped else "consent",
        "channel": "sms",
        "by": "self",
        "words": "STOP" if stopped else "yes",
        "at": joined + timedelta(days=3) if stopped else joined,
    }


def _messages(conn: Any, part: range, families: int, draw: random.Random) -> None:
    """Half in (answers), half out (check-in questions, each a `deliveries` row; two in three
    answered with a check-in)."""
    inbound, outbound, asked, answered = [], [], [], []
    for n in part:
        contact_id = draw.randint(1, families)
        at = NOW - timedelta(minutes=n % SPAN_MINUTES)
        if n % 2 == 0:
            inbound.append(
                {
                    "contact_id": contact_id,
                    "channel": "sms",
                    "provider_id": f"SM{n}",
                    "text": "no, he didn't drink today",
                    "received_at": at,
                }
            )
            continue
        outbound.append(
            {
                "contact_id": contact_id,
                "channel": "sms",
                "address": f"+1555{contact_id:07d}",
                "message_id": "checkin.question",
                "kind": "normal",
                "text": "Evening check-in: how was today?",
                "status": "delivered",
                "not_before": at,
                "attempts": 1,
                "created_at": at,
            }
        )
        day = at.date()
        asked.append({"contact_id": contact_id, "kind": "checkin", "local_date": day, "at": at})
        if draw.random() < 2 / 3:
            value = draw.choice(("use", "non_use", "non_use", "unsure"))
            answered.append({"contact_id": contact_id, "value": value, "local_date": day, "at": at})
    conn.execute(insert(m.InboundMessage), inbound)
    conn.execute(insert(m.OutboundMessage), outbound)
    conn.execute(sqlite_insert(m.Delivery).on_conflict_do_nothing(), asked)
    if answered:  # one check-in a family's day (uq_checkins_contact_day), across chunks too
        latest = {(a["contact_id"], a["local_date"]): a for a in answered}
        conn.execute(sqlite_insert(m.Checkin).on_conflict_do_nothing(), list(latest.values()))


def _question(n: int, families: int, draw: random.Random) -> dict[str, Any]:
    asked = NOW - timedelta(minutes=draw.randint(10, SPAN_MINUTES))
    answered = n % 5 != 0 and asked + timedelta(hours=30) < NOW  # four in five answered
    at = asked + timedelta(minutes=draw.randint(20, 30 * 60)) if answered else None
    return {
        "contact_id": draw.randint(1, families),
        "text": "ASK how do I talk to him about treatment without a fight?",
        "prompt": "",
        "asked_at": asked,
        "status": "answered" if answered else "open",
        "answered_at": at,
        "answered_by": ADMIN if answered else None,
        "answer": "Have one option ready before you ask." if answered else None,
    }


def timed(client: Any, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    took = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return took


def run(families: int, messages: int, runs: int = 40, folder: Path | None = None) -> Pages:
    with tempfile.TemporaryDirectory(dir=folder) as work, console_rig(Path(work)) as rig:
        rig.clock.now = NOW
        started = time.perf_counter()
        seed(rig, families, messages)
        result = Pages(families, messages, time.perf_counter() - started)
        rig.staff(ADMIN, "admin")
        admin = rig.signed_in(ADMIN)
        settle_heap()  # as `craftbot web` does once it has built the app (bot/process.py)
        draw = random.Random(2)
        paths = {
            "alerts": ["/console/alerts"] * runs,
            "timeline": [f"/console/families/{draw.randint(1, families)}" for _ in range(runs)],
            "search": ["/console/families?q=Name12"] * runs,
            "stats": ["/console/stats"] * runs,
            "questions": ["/console/questions"] * runs,
            "question": [f"/console/questions/{draw.randint(1, 2_000)}" for _ in range(runs)],
            "program": ["/console/program"] * runs,
        }
        for page in PAGES:
            result.ms[page] = [timed(admin, path) for path in paths[page]]
        for _ in range(max(3, runs // 10)):
            started = time.perf_counter()
            stats.build(rig.app.ctx.db, NOW)
            result.stats_fresh_ms.append((time.perf_counter() - started) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    result = run(args.families, args.messages, args.runs)
    print(
        f"seeded {args.families} families and {args.messages} messages in "
        f"{result.seed_s:.1f} s (SQLite)"
    )
    print(f"{'page':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for page in PAGES:
        print(
            f"{page:<12} {result.figure(page, 0.5):8.1f} {result.figure(page, 0.95):8.1f} "
            f"{max(result.ms[page]):8.1f}"
        )
    fresh = result.stats_fresh_ms
    print(f"stats computed afresh: median {statistics.median(fresh):.0f} ms over {len(fresh)}")


if __name__ == "__main__":
    main()
