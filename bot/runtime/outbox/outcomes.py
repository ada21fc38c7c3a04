"""What became of each send: the outbox row's next status, in one transaction for a batch.

Sent rows are marked sent; a final refusal (opted out, invalid address) ends the row and, for an
opt-out, opts the family out; anything else is queued again after a backoff. A misconfigured
channel is not the message's fault: the row keeps its attempt and the channel pauses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import OutboundMessage, SendOutcome, SendResult
from bot.runtime.context import Context
from bot.runtime.turn import opt_out
from storage.queries import outbox as outbox_sql

log = logging.getLogger(__name__)
MISCONFIGURED_PAUSE = timedelta(minutes=5)
FINAL = {
    SendOutcome.SENT: "sent",
    SendOutcome.OPTED_OUT: "opted_out",
    SendOutcome.INVALID_ADDRESS: "invalid",
}


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # quiet hours moved it to the morning
    suppressed: int = 0  # the person opted out
    reclaimed: int = 0  # a lease ran out: possibly sent before (at-least-once)
    outcomes: dict[str, int] = field(default_factory=dict)


def record(
    ctx: Context,
    results: list[tuple[OutboundMessage, SendResult]],
    now: datetime,
    report: DispatchReport,
    backoff: Callable[[int, float | None], float],
    down_until: dict[str, datetime],
) -> None:
    """Record these outcomes; `backoff(attempts, retry_after)` says when to try again, and a
    misconfigured channel goes into `down_until`."""
    with ctx.db.begin() as db:
        rows = outbox_sql.attempts_of(db, [message.id for message, _ in results])
        sent: list[dict[str, Any]] = []
        final: list[dict[str, Any]] = []
        requeued: list[dict[str, Any]] = []
        opted_out: list[tuple[int, str, str]] = []
        for message, result in results:
            outcome = result.outcome
            report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
            row = rows.get(message.id)
            if row is None:
                continue
            attempts, contact_id = row
            if outcome == SendOutcome.SENT:
                sent.append({"row_id": message.id, "provider_id": result.provider_id})
                report.sent += 1
                continue
            if outcome in FINAL:
                final.append(
                    {
                        "row_id": message.id,
                        "status": FINAL[outcome],
                        "provider_id": result.provider_id,
                        "error": result.detail[:500],
                    }
                )
                report.failed += 1
                if outcome == SendOutcome.OPTED_OUT and contact_id:
                    opted_out.append((contact_id, message.channel, result.detail))
                continue
            error = f"{outcome.value}: {result.detail}"[:500]
            if outcome == SendOutcome.MISCONFIGURED:
                # not the message's fault: don't burn its retries
                requeued.append(
                    {
                        "row_id": message.id,
                        "error": error,
                        "attempts": attempts - 1,
                        "not_before": None,
                    }
                )
                down_until[message.channel] = now + MISCONFIGURED_PAUSE
                log.error(
                    "channel %s is misconfigured (%s): paused for %s; fix its credentials",
                    message.channel,
                    result.detail,
                    MISCONFIGURED_PAUSE,
                )
            else:
                later = now + timedelta(seconds=backoff(attempts, result.retry_after_s))
                requeued.append(
                    {
                        "row_id": message.id,
                        "error": error,
                        "attempts": attempts,
                        "not_before": later,
                    }
                )
                report.retried += 1
        outbox_sql.mark_sent(db, sent, now)
        outbox_sql.mark_final(db, final)
        outbox_sql.requeue(db, requeued)
        # An erased family's goodbye (DELETE), once sent or given up: its words and address go
        # too, so nothing of the family is left but the hashed opt-out (docs/privacy.md).
        outbox_sql.forget_goodbyes(db, [r["row_id"] for r in (*sent, *final)])
        # Last, so that cancelling an opted-out family's queued messages also catches this
        # batch's retries.
        for contact_id, channel, detail in opted_out:
            words = f"provider refused delivery: {detail}"
            opt_out(ctx, db, contact_id, channel, "provider", words, now)
