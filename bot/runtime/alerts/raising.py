"""Raising an alert inside a turn: the row, and a notice to each on-call address.

The turn's effects call `Raiser.raise_alert`; nothing is written until the turn's flush, which
gives the alert its id and only then words the notices ("Reply ACK 42"). The alert escalates
(bot/runtime/alerts/escalation.py) from `escalate_at` unless someone acknowledges it first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from bot.runtime.alerts.notices import About, Notice, notice_id, notice_text, staff_row
from bot.runtime.alerts.staff import StaffList
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.runtime.family import Family
    from bot.runtime.writes import Writes

# Tiers that escalate to the backup list when nobody acknowledges; distress does not.
ESCALATING = frozenset({"emergency", "followup", "undelivered"})
PRIORITY = {"emergency": 1, "undelivered": 1, "followup": 2, "distress": 3}


class Raiser:
    def __init__(self, settings: Settings, staff: StaffList | None = None) -> None:
        self.settings = settings
        self.staff = staff or StaffList.from_settings(settings)

    def raise_alert(
        self,
        writes: Writes,
        family: Family,
        category: str,
        tier: str,
        matched: str,
        text: str,
        now: datetime,
    ) -> list[int]:
        """Add an alert and its first notices; the notices' indices in `writes.outbox`."""
        priority = PRIORITY.get(tier, 2)
        told = self.staff.on_call()
        escalates = bool(told) and tier in ESCALATING
        writes.alerts.append(
            {
                "contact_id": family.id,
                "category": category,
                "matched": matched,
                "text": text[:2000],
                "at": now,
                "notified": bool(told),
                "tier": tier,
                "priority": priority,
                "status": "open",
                "escalations": 0,
                "escalate_at": now + timedelta(minutes=self.settings.alert_ack_minutes)
                if escalates
                else None,
            }
        )
        detail = matched if tier == "followup" else ""
        about = About(
            priority, tier, category, family.id, family.channel, family.address, now, detail
        )
        index, rows = len(writes.alerts) - 1, []
        for member in told:
            row = writes.add_outbox(staff_row(member, notice_id(0), "", None, now))
            word = partial(notice_text, about=about, stage=0, settings=self.settings)
            writes.notices[row] = Notice(index, 0, word)
            rows.append(row)
        return rows
