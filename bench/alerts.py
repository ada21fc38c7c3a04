"""`python -m bench.alerts`: what the human loop costs (SQLite file, this machine).

- a crisis message with staff on call (the alert, three notices) and without, per message;
- a tick's escalation pass when nothing is due (what every tick now adds), over 10,000 alerts;
- an escalation pass that sends the backup notices of 1,000 overdue alerts.
Asserts nothing about time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build
from bot.channels.base import InboundMessage
from bot.channels.console import ConsoleChannel
from bot.runtime.alerts.escalation import escalate_due
from bot.settings import Settings
from storage import models as m
from storage.queries import records

NOW = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
STAFF = {
    "staff_alert_sms": "+15550199",
    "staff_alert_email": "oncall@example.org",
    "staff_alert_telegram": "4242",
    "staff_backup_sms": "+15550198",
    "staff_backup_email": "backup@example.org",
    "org_contact": "call 555-0100",
}


def crisis_costs(folder: Path, staffed: bool, n: int = 200) -> list[float]:
    sink: list[object] = []
    channels = {c: ConsoleChannel(sink.append, c) for c in ("sms", "telegram", "email")}
    settings = Settings(
        database_url=f"sqlite:///{folder}/crisis_{staffed}.db", **(STAFF if staffed else {})
    )
    app = build(settings, channels=channels, clock=lambda: NOW)
    costs = []
    for i in range(n):
        msg = InboundMessage("sms", f"+1555{i:07d}", "he's not breathing", f"b{i}")
        started = time.perf_counter()
        app.runtime.handle_inbound(msg, NOW)
        costs.append(time.perf_counter() - started)
    app.engine.dispose()
    return costs


def many_alerts(folder: Path, total: int, overdue: int) -> tuple[float, float]:
    """(an escalation pass with nothing due, one that escalates `overdue` alerts), in seconds."""
    settings = Settings(database_url=f"sqlite:///{folder}/alerts.db", **STAFF)
    app = build(settings, channels={}, clock=lambda: NOW)
    with app.ctx.db.begin() as db:
        db.add(m.Contact(channel="sms", address="+15550100", created_at=NOW, updated_at=NOW))
        db.flush()
        rows = [
            {
                "contact_id": 1,
                "category": "overdose",
                "matched": "not breathing",
                "text": "-",
                "at": NOW,
                "notified": True,
                "tier": "emergency",
                "priority": 1,
                "status": "open" if i < overdue else "acknowledged",
                "escalations": 0,
                "escalate_at": NOW if i < overdue else None,
            }
            for i in range(total)
        ]
        records.add_alerts(db, rows)
    started = time.perf_counter()
    escalate_due(app.ctx, NOW - timedelta(minutes=1))  # before they are due: nothing to do
    idle = time.perf_counter() - started
    started = time.perf_counter()
    sent = escalate_due(app.ctx, NOW)
    busy = time.perf_counter() - started
    assert len(sent) == 2 * overdue
    app.engine.dispose()
    return idle, busy


def ms(values: list[float]) -> str:
    cut = statistics.quantiles(values, n=100)
    return f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * cut[98]:.1f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(
            f"crisis message, staff on call (alert + 3 notices): {ms(crisis_costs(folder, True))}"
        )
        print(
            f"crisis message, nobody on call:                     {ms(crisis_costs(folder, False))}"
        )
        idle, busy = many_alerts(folder, 10_000, 1_000)
        print(f"escalation pass, nothing due, 10,000 alerts:        {1000 * idle:.1f} ms")
        print(f"escalation pass, 1,000 overdue (2,000 notices):     {1000 * busy:.0f} ms")


if __name__ == "__main__":
    main()
