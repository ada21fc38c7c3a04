"""What a metrics scrape reads: two counts, each answered from an index."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import models as m
from storage.db import DB

# Rows still to settle; sent, failed and the other final states are history, not depth. The
# outbox's (status, not_before) index answers this without reading the history.
WAITING = ("queued", "sending")


def outbox_depth(db: DB) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows, for the rows not yet settled."""
    rows = db.execute(
        select(m.OutboundMessage.channel, m.OutboundMessage.status, func.count())
        .where(m.OutboundMessage.status.in_(WAITING))
        .group_by(m.OutboundMessage.channel, m.OutboundMessage.status)
    )
    return {(str(channel), str(status)): int(count) for channel, status, count in rows}


def unacknowledged_alerts(db: DB) -> int:
    """Alerts still open: nobody has acknowledged or closed them (the status index answers)."""
    query = select(func.count()).select_from(m.Alert).where(m.Alert.status == "open")
    return int(db.scalar(query) or 0)
