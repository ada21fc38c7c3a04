"""Escalation: an alert nobody acknowledged goes to the backup list, then again and again.

Driven by the tick (the worker, `craftbot serve`, or `craftbot tick --at`), from the alert's own
`escalate_at`, so it survives restarts and several workers share it: each claims due alerts with
FOR UPDATE SKIP LOCKED. Notices only ever go to staff addresses, never to a family.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.runtime.alerts.notices import About, told
from bot.runtime.alerts.records import AlertRecord
from bot.runtime.alerts.staff import StaffList
from bot.runtime.context import Context
from storage.queries import alerts as alert_sql
from storage.queries import records

BATCH = 100


def escalate_due(ctx: Context, now: datetime, staff: StaffList | None = None) -> list[int]:
    """Send the next notice of every open alert whose time has come; the outbox ids."""
    staff = staff or StaffList.from_settings(ctx.settings)
    settings = ctx.settings
    repeat = timedelta(minutes=settings.alert_repeat_minutes)
    sent: list[int] = []
    while True:
        with ctx.transaction() as db:
            due = [AlertRecord.from_row(r) for r in alert_sql.due_escalations(db, now, BATCH)]
            rows: list[dict[str, Any]] = []
            notices: list[dict[str, Any]] = []
            for alert in due:
                stage = alert.escalations + 1
                members = staff.for_stage(stage)
                if not members:  # nobody to tell any more (the lists were emptied)
                    alert_sql.escalated(db, alert.id, alert.escalations, None)
                    continue
                about = About(
                    alert.priority,
                    alert.tier,
                    alert.category,
                    alert.contact_id,
                    alert.channel,
                    alert.address,
                    alert.at,
                    alert.matched if alert.tier == "followup" else "",
                )
                more, noted = told(alert.id, about, stage, members, settings, now)
                rows += more
                notices += noted
                alert_sql.escalated(db, alert.id, stage, now + repeat)
            ids = records.add_outbox(db, rows)
            alert_sql.add_notices(
                db, [{**n, "outbox_id": i} for n, i in zip(notices, ids, strict=True)]
            )
        sent += ids
        if len(due) < BATCH:
            return sent
