"""The alerts a coach works through, behind a small interface the runtime's alert model will fill.

Today's `alerts` table has no status. Until the alert-status model lands (id, priority, status
open / acknowledged / closed, acknowledgement by phone), `InterimAlertDesk` keeps the status in
the console's audit log: an alert is open until a staff member acknowledges it, and closed once
one closes it. The lead swaps in a desk backed by the runtime's alert service; the pages call
only the `AlertDesk` methods, so they do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from bot.console.accounts import Accounts, StaffUser
from bot.runtime.context import Context
from bot.runtime.family_clock import Clocks
from storage import console_accounts as audit_q
from storage import console_queries as q
from storage import models as m

Status = Literal["open", "acknowledged", "closed"]
URGENT = ("overdose", "suicide", "violence")  # danger now; anything else a flow raised is "high"
STAFF_MESSAGE_ID = "staff.message"  # the outbox's catalog id for words a coach wrote


@dataclass(frozen=True)
class Note:
    at: datetime
    by: str
    text: str


@dataclass(frozen=True)
class AlertView:
    id: int
    contact_id: int
    family: str  # the family member's name, or "family #id"
    channel: str
    category: str
    priority: int  # 1 urgent, 2 high: lower comes first
    matched: str
    text: str
    at: datetime
    staff_told: bool  # the on-call list got the alert by SMS, email or Telegram
    status: Status = "open"
    acknowledged: tuple[str, datetime] | None = None
    closed: tuple[str, datetime] | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def priority_label(self) -> str:
        return "urgent" if self.priority == 1 else "high"


@dataclass(frozen=True)
class Reached:
    """What "reach the family" did: the outbox id, and when quiet hours let it go (None: now)."""

    outbox_id: int | None
    not_before: datetime | None = None
    refused: str = ""  # why nothing was queued (opted out, family gone)


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


class InterimAlertDesk:
    """Alerts from today's table; their status, notes and who did what from the audit log."""

    def __init__(self, ctx: Context, accounts: Accounts) -> None:
        self.ctx, self.accounts = ctx, accounts

    def alerts(self, limit: int = 200) -> list[AlertView]:
        with self.ctx.db() as db:
            views = [_view(a, c) for a, c in q.recent_alerts(db, limit)]
            entries = audit_q.audit_of(db, "alert", [str(v.id) for v in views])
        return sorted(_with_status(views, entries), key=sort_key)

    def alert(self, alert_id: int) -> AlertView | None:
        with self.ctx.db() as db:
            found = q.alert(db, alert_id)
            if found is None:
                return None
            entries = audit_q.audit_of(db, "alert", [str(alert_id)])
        return _with_status([_view(*found)], entries)[0]

    def acknowledge(self, alert_id: int, staff: StaffUser, ip: str) -> bool:
        current = self.alert(alert_id)
        if current is None or current.status != "open":
            return False
        self.accounts.audit(staff, "alert.acknowledge", "alert", alert_id, "", ip)
        return True

    def close(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool:
        current = self.alert(alert_id)
        if current is None or current.status == "closed":
            return False
        self.accounts.audit(staff, "alert.close", "alert", alert_id, note.strip(), ip)
        return True

    def add_note(self, alert_id: int, staff: StaffUser, note: str, ip: str) -> bool:
        if not note.strip() or self.alert(alert_id) is None:
            return False
        self.accounts.audit(staff, "alert.note", "alert", alert_id, note.strip(), ip)
        return True

    def reach_family(self, contact_id: int, staff: StaffUser, text: str, ip: str) -> Reached:
        """Queue the coach's words on the family's channel; the dispatcher sends them.

        An everyday message: never to a family who opted out, and held by their quiet hours like
        any message the program starts (the dispatcher checks both again when it sends).
        """
        text, now = text.strip(), self.ctx.clock()
        if not text:
            return Reached(None, refused="write the message first")
        with self.ctx.db.begin() as db:
            contact = q.family(db, contact_id)
            if contact is None:
                return Reached(None, refused="this family is no longer in the program")
            if contact.status == "opted_out":
                return Reached(None, refused="this family opted out: we never message them")
            settings = self.ctx.settings
            clock = Clocks(settings).of(contact.timezone, contact.quiet_start, contact.quiet_end)
            due = clock.held_until(now)
            outbox_id = q.add_outbound(
                db,
                m.OutboundMessage(
                    contact_id=contact.id,
                    channel=contact.channel,
                    address=contact.address,
                    message_id=STAFF_MESSAGE_ID,
                    kind="normal",
                    text=text[:1600],
                    subject=f"{settings.org_name}: a message from our team"
                    if contact.channel == "email"
                    else None,
                    status="queued",
                    not_before=now,
                    attempts=0,
                    created_at=now,
                ),
            )
        self.accounts.audit(
            staff, "family.message", "family", contact_id, f"outbox {outbox_id}", ip
        )
        return Reached(outbox_id, due if due > now else None)


def _view(alert: m.Alert, contact: m.Contact) -> AlertView:
    return AlertView(
        id=alert.id,
        contact_id=contact.id,
        family=contact.name or f"family #{contact.id}",
        channel=contact.channel,
        category=alert.category,
        priority=1 if alert.category in URGENT else 2,
        matched=alert.matched,
        text=alert.text,
        at=alert.at,
        staff_told=alert.notified,
    )


def _with_status(views: list[AlertView], entries: Sequence[m.AuditEntry]) -> list[AlertView]:
    by_alert: dict[str, list[m.AuditEntry]] = {}
    for entry in entries:
        by_alert.setdefault(entry.target_id, []).append(entry)
    out = []
    for view in views:
        status: Status = "open"
        acknowledged = closed = None
        notes: list[Note] = []
        for e in by_alert.get(str(view.id), []):
            if e.action == "alert.acknowledge" and acknowledged is None:
                acknowledged, status = (e.staff_email, e.at), "acknowledged"
            elif e.action == "alert.close":
                closed, status = (e.staff_email, e.at), "closed"
                acknowledged = acknowledged or (e.staff_email, e.at)
            if e.action in ("alert.note", "alert.close") and e.detail:
                notes.append(Note(e.at, e.staff_email, e.detail))
        out.append(
            replace(
                view, status=status, acknowledged=acknowledged, closed=closed, notes=tuple(notes)
            )
        )
    return out
