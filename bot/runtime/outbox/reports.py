"""Provider delivery reports: move a message's status forward only, once per report.

The web handlers translate a provider's callback (Twilio's status callback, SendGrid's event
webhook) into `DeliveryReport`s; recording them is the runtime's. A family's crisis reply that
the provider took but then could not deliver (Twilio "undelivered", a SendGrid bounce) is one
that never reached them: staff are told, as for one refused on the send
(bot/runtime/alerts/undeliverable.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.runtime.alerts.undeliverable import Undelivered, undeliverable
from bot.runtime.context import Context
from bot.runtime.turn import opt_out
from storage.db import DB
from storage.queries import outbox as outbox_sql
from storage.queries.outbox import ProviderRow

# Later means further along; a report never moves a message backwards (reports arrive out of order).
RANK = {
    "queued": 0,
    "sending": 1,
    "accepted": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "failed": 5,
    "expired": 5,
    "cancelled": 5,
}
# A provider's word for a message that never arrived: our status failed, with its word as the
# reason.
FAILED = ("undelivered", "bounced", "failed")
# A report that the provider took the message (and may have delivered it already).
ACCEPTED = ("sent", "delivered", "read")
# The channel a provider's reports are about. A report never moves another channel's row: an
# outbox id or a provider id alone is a number that another channel's row (or another app's
# mail on the same SendGrid account, whose events come to our webhook too) can have as well.
CHANNEL_OF = {"twilio": "sms", "sendgrid": "email"}


@dataclass(frozen=True)
class DeliveryReport:
    """What a provider says happened to one message we sent.

    The message is named by the provider's id, or by our outbox id when the provider echoes it.
    """

    key: str  # the report's own identity: providers send a report more than once
    status: str | None  # the status it reports, in our words (None: no status to record)
    provider_id: str | None = None
    outbox_id: int | None = None
    detail: str = ""
    opt_out: str | None = None  # the person unsubscribed or complained: the consent record's words
    address: str | None = None  # the recipient the report is about, when the provider names it


def record(ctx: Context, provider: str, reports: Iterable[DeliveryReport]) -> list[int]:
    """Record each report once, in one transaction; the outbox ids of notices to staff (a
    family's crisis reply that was not delivered), to send at once."""
    now, channel = ctx.clock(), CHANNEL_OF[provider]
    lost: list[Undelivered] = []
    with ctx.transaction() as db:
        for report in reports:
            first = outbox_sql.first_report(db, provider, report.key, now)
            if first and (found := _apply(ctx, db, channel, report, now)) is not None:
                lost.append(found)
        return undeliverable(ctx, db, lost, now) if lost else []


def _apply(
    ctx: Context, db: DB, channel: str, report: DeliveryReport, now: datetime
) -> Undelivered | None:
    """Record one report about a message of `channel`; a family's crisis reply it says never
    arrived, or None."""
    provider_id, contact_id = report.provider_id, None
    if report.outbox_id is None and provider_id is None:
        return None  # names no message of ours
    if report.outbox_id is not None:
        refs = outbox_sql.refs_of(db, report.outbox_id)
        if refs is None or not _about(report, channel, refs[2], refs[3]):
            return None  # no such row, or not the message this report is about
        # The report's own provider id first: a row sent twice (an answer lost, then a retry)
        # keeps the second id, and the first send's report must not move it. The row may not
        # know the provider's id yet (the report came before the send was recorded): it learns
        # it now, so the report moves it (a crisis reply that failed reaches staff), and the
        # recording of the send keeps what the report said. A row queued again after a send
        # whose answer never came, reported taken, is sent: the family has it already.
        if refs[0] is None and provider_id:
            accepted = report.status in ACCEPTED
            outbox_sql.take_provider_id(db, report.outbox_id, provider_id, accepted, now)
        provider_id, contact_id = provider_id or refs[0], refs[1]
    found = outbox_sql.status_by_provider_id(db, provider_id, channel) if provider_id else None
    if found is not None:
        contact_id = contact_id or found[2]
    lost = None
    if found is not None and report.status is not None:
        moved = move_forward(db, found, report.status, report.detail)
        row_id, _, row_contact, _, kind = found
        if moved and report.status in FAILED and kind == "crisis" and row_contact:
            lost = Undelivered(row_contact, row_id, _not_delivered(report))  # never reached them
    # a carrier's opt-out reported after the send (Twilio 21610) counts as one on the send
    if report.opt_out is not None and contact_id:
        opt_out(ctx, db, contact_id, channel, "provider", report.opt_out, now)
    return lost


def _about(report: DeliveryReport, channel: str, row_channel: str, row_address: str) -> bool:
    """Is the row the report names one it can be about: of the provider's channel, and sent to
    the recipient the report names (when it names one)?"""
    if row_channel != channel:
        return False
    if report.address is None:
        return True
    named = report.address.strip().lower()
    return bool(named) and named == row_address.strip().lower()


def _not_delivered(report: DeliveryReport) -> str:
    """What staff read: the provider took the reply, then said it never arrived."""
    said = f"{report.status}, {report.detail}" if report.detail else str(report.status)
    return f"the provider accepted it, then reported it not delivered ({said[:120]})"


def move_forward(db: DB, found: ProviderRow, status: str, detail: str = "") -> bool:
    """Set the status of the row found by its provider id, unless it is further on; a
    provider's failure (undelivered, bounced) is our `failed`, with its word as the reason."""
    status, reason = ("failed", status) if status in FAILED else (status, None)
    if RANK.get(status, -1) <= RANK.get(found[1], -1):
        return False
    outbox_sql.set_status(db, found[0], status, detail, reason)
    return True
