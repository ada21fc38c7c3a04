"""What a metrics scrape reads: two grouped counts, each answered from an index."""

from __future__ import annotations

from sqlalchemy import and_, cast, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from storage import models as m

# Rows still to settle; sent, failed and the other final states are history, not depth. The
# outbox's (status, not_before) index answers this without reading the history.
WAITING = ("queued", "sending")
# Until alerts carry a status of their own (issue 11: open, acknowledged, closed), the console's
# interim desk records acknowledging and closing in the audit log; an alert is open and
# unacknowledged while neither is there. When the status column lands, this becomes
# `count(*) WHERE status = 'open'` and nothing else here changes.
SETTLED_BY = ("alert.acknowledge", "alert.close")


def outbox_depth(db: Session) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows, for the rows not yet settled."""
    rows = db.execute(
        select(m.OutboundMessage.channel, m.OutboundMessage.status, func.count())
        .where(m.OutboundMessage.status.in_(WAITING))
        .group_by(m.OutboundMessage.channel, m.OutboundMessage.status)
    )
    return {(str(channel), str(status)): int(count) for channel, status, count in rows}


def unacknowledged_alerts(db: Session) -> int:
    settled = exists().where(
        and_(
            m.AuditEntry.target == "alert",
            m.AuditEntry.target_id == cast(m.Alert.id, String),
            m.AuditEntry.action.in_(SETTLED_BY),
        )
    )
    return int(db.scalar(select(func.count()).select_from(m.Alert).where(~settled)) or 0)
