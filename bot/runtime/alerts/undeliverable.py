"""A crisis reply that could not be delivered: the team must reach the family another way.

Called by the outbox when a family's crisis reply has failed for good (an invalid number, a
blocked bot, a bounced address), inside the transaction that records the failure:

    undeliverable(ctx, db, [Undelivered(contact_id, outbox_id, reason)], now) -> outbox ids

and by every tick for a crisis reply still not sent CRISIS_REPLY_LATE after it was written (its
channel is off or misconfigured, the provider has been down): `tell_late(ctx, now)`. The reply
goes on being tried, as a crisis reply never expires; staff hear of it once.

The family's newest alert of the last two days (the one the reply belonged to) becomes urgent and
gets a note; with none, an urgent alert is opened. Either way the on-call list gets a notice
(dispatch the ids returned), and a new alert escalates like any emergency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.runtime.alerts.notices import About, told
from bot.runtime.alerts.staff import StaffList
from bot.runtime.context import Context
from storage.db import DB
from storage.queries import alerts as alert_sql
from storage.queries import families as family_sql
from storage.queries import outbox as outbox_sql
from storage.queries import records

RECENT = timedelta(days=2)
CRISIS_REPLY_LATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Undelivered:
    contact_id: int
    outbox_id: int
    reason: str  # what the provider said, for staff ("invalid number", "bot blocked")


def undeliverable(ctx: Context, db: DB, found: list[Undelivered], now: datetime) -> list[int]:
    """Tell staff these crisis replies never reached their families; the notices' outbox ids."""
    settings = ctx.settings
    staff = StaffList.from_settings(settings)
    on_call = staff.on_call()
    rows: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    for item in found:
        note = f"The crisis reply (outbox {item.outbox_id}) was not delivered: {item.reason}"
        alert_id = alert_sql.latest_open_for(db, item.contact_id, now - RECENT)
        family = family_sql.families_by_id(db, [item.contact_id])
        if not family:
            continue
        channel, address = family[0][1], family[0][2]
        if alert_id is None:
            [alert_id] = records.add_alerts(
                db,
                [
                    {
                        "contact_id": item.contact_id,
                        "category": "undelivered",
                        "matched": "",
                        "text": note,
                        "at": now,
                        "notified": bool(on_call),
                        "tier": "undelivered",
                        "priority": 1,
                        "status": "open",
                        "escalations": 0,
                        "escalate_at": now + timedelta(minutes=settings.alert_ack_minutes)
                        if on_call
                        else None,
                    }
                ],
            )
        else:
            alert_sql.raise_priority(db, alert_id, 1)
        alert_sql.add_note(db, alert_id, "craftbot", note[:2000], now)
        about = About(1, "undelivered", "undelivered", item.contact_id, channel, address, now)
        more, noted = told(alert_id, about, 0, on_call, settings, now)
        rows += more
        notices += noted
    ids = records.add_outbox(db, rows)
    alert_sql.add_notices(db, [{**n, "outbox_id": i} for n, i in zip(notices, ids, strict=True)])
    return ids


def tell_late(ctx: Context, now: datetime) -> list[int]:
    """Tell staff of the families' crisis replies written over CRISIS_REPLY_LATE ago and still not
    sent, once each; the notices' outbox ids."""
    with ctx.transaction() as db:
        late = outbox_sql.late_crisis_replies(db, now - CRISIS_REPLY_LATE)
        if not late:
            return []
        minutes = int(CRISIS_REPLY_LATE.total_seconds() // 60)
        first: dict[int, Undelivered] = {}  # one word to staff a family, however many rows
        for row_id, contact_id, error in late:
            first.setdefault(contact_id, Undelivered(contact_id, row_id, _late(minutes, error)))
        found = list(first.values())
        ids = undeliverable(ctx, db, found, now)
        outbox_sql.mark_late_told(db, [row_id for row_id, _, _ in late])
        return ids


def _late(minutes: int, error: str | None) -> str:
    """What staff read: how late, that it is still being tried, and the provider's last word."""
    why = f"last error: {error[:120]}" if error else "its channel has not sent it"
    return f"still not sent after {minutes} minutes and still being tried ({why})"
