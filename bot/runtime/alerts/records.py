"""An alert as the services hand it out: its family, status, notes and who was told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.runtime.alerts.notices import priority_label

Status = Literal["open", "acknowledged", "closed"]
STATUSES: tuple[Status, ...] = ("open", "acknowledged", "closed")


@dataclass(frozen=True)
class NoteRecord:
    at: datetime
    by: str
    text: str


@dataclass(frozen=True)
class NoticeRecord:
    stage: int  # 0 the first notice, 1 the backup, 2... repeats
    channel: str
    address: str
    at: datetime
    outbox_status: str | None  # queued, sent, delivered, failed... (None: the row is gone)


@dataclass(frozen=True)
class AlertRecord:
    id: int
    contact_id: int
    family_name: str | None
    channel: str
    address: str
    category: str
    tier: str
    priority: int
    matched: str
    text: str
    at: datetime
    notified: bool
    status: Status
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledged_via: str | None
    closed_by: str | None
    closed_at: datetime | None
    close_note: str | None
    escalations: int
    escalate_at: datetime | None
    notes: tuple[NoteRecord, ...] = field(default_factory=tuple)
    notices: tuple[NoticeRecord, ...] = field(default_factory=tuple)

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> AlertRecord:
        """From the columns of storage.queries.alerts.ALERT, in that order."""
        return cls(*values)

    @property
    def priority_label(self) -> str:
        return priority_label(self.priority)

    def as_json(self) -> dict[str, Any]:
        """What `craftbot alerts list --format jsonl` prints: no message text, no notes."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "status": self.status,
            "priority": self.priority_label,
            "tier": self.tier,
            "category": self.category,
            "contact_id": self.contact_id,
            "channel": self.channel,
            "at": iso(self.at),
            "staff_told": self.notified,
            "escalations": self.escalations,
            "next_escalation": iso(self.escalate_at),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": iso(self.acknowledged_at),
            "acknowledged_via": self.acknowledged_via,
            "closed_by": self.closed_by,
            "closed_at": iso(self.closed_at),
            "close_note": self.close_note,
        }
