"""The alerts a coach works through, behind the small interface the alerts pages call.

`RuntimeAlertDesk` is backed by the runtime's alert service (bot/runtime/alerts/desk.py): the
status it shows and changes is the alert's own, so acknowledging here, by replying ACK to a
notice, or with `craftbot alerts ack` is one status, and the console sees them all. What a coach
does here is also kept in the console's audit log (who, when, from where).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bot.console.accounts import Accounts, StaffUser
from bot.runtime.alerts.desk import Reached
from bot.runtime.alerts.notices import priority_label
from bot.runtime.alerts.records import AlertRecord
from bot.runtime.runtime import Runtime

Status = Literal["open", "acknowledged", "closed"]
STAGES = {0: "on call", 1: "backup"}

__all__ = ["AlertDesk", "AlertView", "Note", "Notice", "Reached", "RuntimeAlertDesk"]


@dataclass(frozen=True)
class Note:
    at: datetime
    by: str
    text: str


@dataclass(frozen=True)
class Notice:
    """One notice sent to a staff address about the alert."""

    at: datetime
    who: str  # "sms +15550100"
    stage: str  # on call, backup, repeat
    delivery: str  # the outbox row's status: queued, sent, delivered, failed...


@dataclass(frozen=True)
class AlertView:
    id: int
    contact_id: int
    family: str  # the family member's name, or "family #id"
    channel: str
    category: str
    priority: int  # 1 urgent, 2 high, 3 normal: lower comes first
    matched: str
    text: str
    at: datetime
    staff_told: bool  # the on-call list got the alert by SMS, email or Telegram
    status: Status = "open"
    acknowledged: tuple[str, datetime] | None = None
    closed: tuple[str, datetime] | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)
    tier: str = "emergency"  # emergency, followup, distress, undelivered
    acknowledged_via: str = ""  # console, cli, sms, telegram, email
    notices: tuple[Notice, ...] = field(default_factory=tuple)
    escalates_at: datetime | None = None  # the next notice, while nobody has acknowledged
    address: str = ""  # the family's phone, email or Telegram chat: to call them in danger

    @property
    def phone(self) -> str:
        """The number to call the family on ("" when they write by email or Telegram)."""
        return self.address if self.channel == "sms" else ""

    @property
    def priority_label(self) -> str:
        return priority_label(self.priority)


class AlertDesk(Protocol):
    def alerts(self, limit: int = 200) -> list[AlertView]:
        """Open first (by priority, then oldest), then acknowledged, then closed (newest)."""
        ...

    def alert(self, alert_id: int) -> AlertView | None: ...

    def acknowledge(self, alert_id: int, staff: StaffUser, ip: str) -> bool: ...

    def close(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool: ...

    def add_note(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool: ...

    def reach_family(self, contact_id: int, staff: StaffUser, text: str, ip: str) -> Reached: ...


def sort_key(alert: AlertView) -> tuple[int, int, float]:
    rank = {"open": 0, "acknowledged": 1, "closed": 2}[alert.status]
    age = alert.at.timestamp() if rank < 2 else -alert.at.timestamp()
    return rank, alert.priority if rank < 2 else 0, age


class RuntimeAlertDesk:
    """The runtime's alerts, as the pages show them; each change recorded in the audit log."""

    def __init__(self, runtime: Runtime, accounts: Accounts) -> None:
        self.runtime, self.accounts = runtime, accounts

    def alerts(self, limit: int = 200) -> list[AlertView]:
        return sorted((view(a) for a in self.runtime.alerts(None, limit)), key=sort_key)

    def alert(self, alert_id: int) -> AlertView | None:
        found = self.runtime.alert(alert_id)
        return view(found) if found else None

    def acknowledge(self, alert_id: int, staff: StaffUser, ip: str) -> bool:
        if self.runtime.acknowledge_alert(alert_id, staff.email, "console") != "done":
            return False
        self.accounts.audit(staff, "alert.acknowledge", "alert", alert_id, "", ip)
        return True

    def close(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool:
        if self.runtime.close_alert(alert_id, staff.email, note) != "done":
            return False
        self.accounts.audit(staff, "alert.close", "alert", alert_id, note.strip(), ip)
        return True

    def add_note(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool:
        if self.runtime.note_alert(alert_id, staff.email, note) != "done":
            return False
        self.accounts.audit(staff, "alert.note", "alert", alert_id, note.strip(), ip)
        return True

    def reach_family(self, contact_id: int, staff: StaffUser, text: str, ip: str) -> Reached:
        """Queue the coach's words on the family's channel (never after an opt-out; held by
        their quiet hours); the dispatcher sends them."""
        reached = self.runtime.reach_family(contact_id, text)
        if reached.outbox_id is not None:
            detail = f"outbox {reached.outbox_id}"
            self.accounts.audit(staff, "family.message", "family", contact_id, detail, ip)
        return reached


def view(alert: AlertRecord) -> AlertView:
    notes = [Note(n.at, n.by, n.text) for n in alert.notes]
    if alert.closed_at and alert.close_note:
        notes.append(Note(alert.closed_at, alert.closed_by or "", alert.close_note))
    acknowledged = (
        (alert.acknowledged_by or "", alert.acknowledged_at) if alert.acknowledged_at else None
    )
    if acknowledged is None and alert.closed_at:  # closed without a separate acknowledgement
        acknowledged = (alert.closed_by or "", alert.closed_at)
    return AlertView(
        id=alert.id,
        contact_id=alert.contact_id,
        family=alert.family_name or f"family #{alert.contact_id}",
        channel=alert.channel,
        category=alert.category,
        priority=alert.priority,
        matched=alert.matched,
        text=alert.text,
        at=alert.at,
        staff_told=alert.notified,
        status=alert.status,
        acknowledged=acknowledged,
        closed=(alert.closed_by or "", alert.closed_at) if alert.closed_at else None,
        notes=tuple(sorted(notes, key=lambda n: n.at)),
        tier=alert.tier,
        acknowledged_via=alert.acknowledged_via or "",
        notices=tuple(
            Notice(
                n.at,
                f"{n.channel} {n.address}",
                STAGES.get(n.stage, "repeat"),
                n.outbox_status or "",
            )
            for n in alert.notices
        ),
        escalates_at=alert.escalate_at,
        address=alert.address,
    )
