"""What became of each send: the outbox row's next status, in one transaction for a batch.

Sent rows are marked sent. A final refusal ends the row failed, with its reason: opted out
(which opts the family out), an invalid address, a message the provider rejects (too long, too
large, an unknown 4xx). Anything else is queued again after a backoff, until the row's attempt
limit (SEND_ATTEMPTS, CRISIS_SEND_ATTEMPTS) fails it, or until the next try would fall after the
row's expiry, which expires it. A family's crisis reply that fails for good alerts staff
(bot/runtime/alerts/undeliverable.py). A misconfigured channel is not the message's fault: the
row keeps its attempt and the channel pauses; so does a row not sent because the worker is
stopping (`None` instead of a result). A row the last look kept back (`NotSent`,
bot/runtime/outbox/last_look.py) was never tried: held by quiet hours it is queued again for
their end without counting the attempt; otherwise it ends expired or cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import OutboundMessage, SendOutcome, SendResult
from bot.runtime.alerts.undeliverable import Undelivered, undeliverable
from bot.runtime.context import Context
from bot.runtime.outbox.last_look import NotSent
from bot.runtime.turn import opt_out
from storage.queries import outbox as outbox_sql

log = logging.getLogger(__name__)
MISCONFIGURED_PAUSE = timedelta(minutes=5)
# A final refusal: the row ends failed, with this reason.
FINAL = {
    SendOutcome.OPTED_OUT: "opted_out",
    SendOutcome.INVALID_ADDRESS: "invalid_address",
    SendOutcome.REJECTED: "rejected",
}


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0  # worth nothing any more (a lesson after its day)
    held: int = 0  # quiet hours moved it to the morning
    suppressed: int = 0  # cancelled: the person opted out, or the row was cancelled in flight
    reclaimed: int = 0  # a lease ran out: possibly sent before (at-least-once)
    released: int = 0  # not sent: the worker is stopping; queued again as it was
    late_slots: int = 0  # sends that woke too late for their pace's slot and booked another
    outcomes: dict[str, int] = field(default_factory=dict)


def record(
    ctx: Context,
    results: list[tuple[OutboundMessage, SendResult | NotSent | None]],
    now: datetime,
    report: DispatchReport,
    backoff: Callable[[int, float | None], float],
    down_until: dict[str, datetime],
) -> None:
    """Record these outcomes (None: not sent, give the row back); `backoff(attempts,
    retry_after)` says when to try again, and a misconfigured channel goes into `down_until`."""
    settings = ctx.settings
    with ctx.transaction() as db:
        rows = outbox_sql.attempts_of(db, [message.id for message, _ in results])
        sent: list[dict[str, Any]] = []
        final: list[dict[str, Any]] = []
        requeued: list[dict[str, Any]] = []
        opted_out: list[tuple[int, str, str]] = []
        lost_crisis: list[Undelivered] = []
        held: list[dict[str, Any]] = []
        for message, result in results:
            row = rows.get(message.id)
            if row is None:
                continue
            attempts, contact_id, kind, expires = row
            if result is None:  # not sent: the worker is stopping
                requeued.append(_again(message.id, "", attempts - 1, None))
                report.released += 1
                continue
            if isinstance(result, NotSent):
                if result.why == "held":
                    held.append({"row_id": message.id, "until": result.until})
                    report.held += 1
                elif result.why == "expired":
                    final.append(_end(message.id, "expired", "day_over", None, ""))
                    report.expired += 1
                else:  # the family opted out
                    final.append(_end(message.id, "cancelled", "opted_out", None, ""))
                    report.suppressed += 1
                continue
            outcome = result.outcome
            report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
            if outcome == SendOutcome.SENT:
                sent.append({"row_id": message.id, "provider_id": result.provider_id})
                report.sent += 1
                continue
            error = f"{outcome.value}: {result.detail}"[:500]
            if outcome == SendOutcome.MISCONFIGURED:
                # not the message's fault: don't burn its retries
                requeued.append(_again(message.id, error, attempts - 1, None))
                down_until[message.channel] = now + MISCONFIGURED_PAUSE
                log.error(
                    "channel %s is misconfigured (%s): paused for %s; fix its credentials",
                    message.channel,
                    result.detail,
                    MISCONFIGURED_PAUSE,
                )
                continue
            limit = settings.crisis_send_attempts if kind == "crisis" else settings.send_attempts
            later = now + timedelta(seconds=backoff(attempts, result.retry_after_s))
            if outcome in FINAL or attempts >= limit:
                reason = FINAL.get(outcome, "attempts")
                final.append(_end(message.id, "failed", reason, result.provider_id, error))
                report.failed += 1
                if outcome == SendOutcome.OPTED_OUT and contact_id:
                    opted_out.append((contact_id, message.channel, result.detail))
                if kind == "crisis" and contact_id:
                    lost_crisis.append(Undelivered(contact_id, message.id, _words(reason)))
            elif expires is not None and later >= expires:
                final.append(_end(message.id, "expired", "day_over", result.provider_id, error))
                report.expired += 1
            else:
                requeued.append(_again(message.id, error, attempts, later))
                report.retried += 1
        outbox_sql.mark_sent(db, sent, now)
        outbox_sql.mark_final(db, final)
        outbox_sql.requeue(db, requeued)
        outbox_sql.give_back(db, held)
        if lost_crisis:
            undeliverable(ctx, db, lost_crisis, now)
        # An erased family's goodbye (DELETE), once sent or given up: its words and address go
        # too, so nothing of the family is left but the hashed opt-out (docs/privacy.md).
        outbox_sql.forget_goodbyes(db, [r["row_id"] for r in (*sent, *final)])
        # Last, so that cancelling an opted-out family's queued messages also catches this
        # batch's retries.
        for contact_id, channel, detail in opted_out:
            words = f"provider refused delivery: {detail}"
            opt_out(ctx, db, contact_id, channel, "provider", words, now)


def _again(row_id: int, error: str, attempts: int, not_before: datetime | None) -> dict[str, Any]:
    """A row queued again (a None not_before keeps its own)."""
    return {"row_id": row_id, "error": error, "attempts": attempts, "not_before": not_before}


def _end(
    row_id: int, status: str, reason: str, provider_id: str | None, error: str
) -> dict[str, Any]:
    return {
        "row_id": row_id,
        "status": status,
        "reason": reason,
        "provider_id": provider_id,
        "error": error,
    }


def _words(reason: str) -> str:
    """What staff read about a crisis reply that failed for good."""
    return {
        "opted_out": "the family blocked or unsubscribed from this channel",
        "invalid_address": "the address cannot receive messages",
        "rejected": "the provider refused the message",
        "attempts": "the provider failed every attempt",
    }.get(reason, reason)
