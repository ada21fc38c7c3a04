"""How long the console's pages take on a filled database: `python -m bench.console_pages`.

Seeds SQLite (or --db URL) with families, messages in and out, check-ins and alerts, serves the
real web app with the console on under uvicorn on 127.0.0.1, signs in, and times each page over
HTTP (sequential requests, so the figures are one coach's wait). Prints p50 / p95 / max in ms.
Asserts nothing about time. The issue's target (alerts page and a timeline with 100,000 families
and 1,000,000 messages, p95 under 100 ms) is `--families 100000 --messages 1000000`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.engine.session import Session
from storage import models as m
from tests.console_rig import ADMIN, console_rig

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def seed(rig: object, families: int, messages: int, alerts: int) -> None:
    app = rig.app  # type: ignore[attr-defined]
    draw = random.Random(1)
    session = Session(status="active", onboarded=True, lesson_pos=10).to_json()
    with app.engine.begin() as conn:
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
                    "created_at": NOW - timedelta(days=draw.randint(0, 80)),
                    "updated_at": NOW,
                }
                for i in range(1, families + 1)
            ],
        )
        step = 20_000
        for start in range(0, messages, step):
            part = range(start, min(start + step, messages))
            inbound = [
                {
                    "contact_id": draw.randint(1, families),
                    "channel": "sms",
                    "provider_id": f"SM{n}",
                    "text": "no, he didn't drink today",
                    "received_at": NOW - timedelta(minutes=n % 100_000),
                }
                for n in part
                if n % 2 == 0
            ]
            outbound = [
                {
                    "contact_id": draw.randint(1, families),
                    "channel": "sms",
                    "address": "+15550000",
                    "message_id": "checkin.question",
                    "kind": "normal",
                    "text": "Evening check-in: how was today?",
                    "status": "delivered",
                    "not_before": NOW,
                    "attempts": 1,
                    "created_at": NOW - timedelta(minutes=n % 100_000),
                }
                for n in part
                if n % 2 == 1
            ]
            conn.execute(insert(m.InboundMessage), inbound)
            conn.execute(insert(m.OutboundMessage), outbound)
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


def timed(client: object, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)  # type: ignore[attr-defined]
        out.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, console_rig(Path(folder)) as rig:
        rig.clock.now = NOW
        started = time.perf_counter()
        seed(rig, args.families, args.messages, args.alerts)
        print(
            f"seeded {args.families} families, {args.messages} messages, {args.alerts} alerts "
            f"in {time.perf_counter() - started:.1f} s (SQLite)"
        )
        rig.staff(ADMIN, "admin")
        admin = rig.signed_in(ADMIN)
        draw = random.Random(2)
        pages = {
            "alerts (landing)": ["/console/alerts"],
            "family timeline": [
                f"/console/families/{draw.randint(1, args.families)}" for _ in range(args.runs)
            ],
            "family search": ["/console/families?q=Name12"],
            "stats": ["/console/stats"],
            "program": ["/console/program"],
        }
        print(f"{'page':<20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, paths in pages.items():
            times: list[float] = []
            for path in paths if len(paths) > 1 else paths * args.runs:
                times += timed(admin, path, 1)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{name:<20} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")


if __name__ == "__main__":
    main()
