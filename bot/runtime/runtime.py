"""The runtime's services: what the web app, the worker and the CLI call. Each is one transaction.

Where each lives: an inbound message is bot/runtime/inbound.py, due timers bot/runtime/timers/,
both run the one turn (bot/runtime/turn.py); sending and provider reports are bot/runtime/outbox/;
alerts and what staff do about them are bot/runtime/alerts/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.channels.base import InboundMessage
from bot.runtime import family_data, retention, turn
from bot.runtime.alerts.desk import AlertDesk, Outcome, Reached
from bot.runtime.alerts.escalation import escalate_due
from bot.runtime.alerts.records import AlertRecord
from bot.runtime.alerts.undeliverable import tell_late
from bot.runtime.context import Context
from bot.runtime.inbound import Inbound, InboundResult
from bot.runtime.outbox import reports
from bot.runtime.outbox.reports import DeliveryReport
from bot.runtime.outbox.unsubscribe import Claim, UnsubscribeWords, page_words
from bot.runtime.timers.tick import Tick, TickReport
from storage.db import ping_read_only
from storage.queries import families as family_sql
from storage.queries import outbox as outbox_sql

KEEP_PROVIDER_REPORTS = timedelta(days=7)  # longer than any provider repeats a report


class Runtime:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._inbound = Inbound(ctx)
        self._alerts = AlertDesk(ctx)

    # --- families writing in -------------------------------------------------------------------
    def handle_inbound(self, msg: InboundMessage, now: datetime | None = None) -> InboundResult:
        """Dedupe, run the engine, write the outbox, commit. A provider retry changes nothing."""
        return self._inbound.handle(msg, now)

    def handle_inbound_many(
        self, msgs: Sequence[InboundMessage]
    ) -> list[InboundResult | Exception]:
        """Several messages in one transaction; a message that breaks fails only itself."""
        return self._inbound.handle_many(msgs)

    # --- timers --------------------------------------------------------------------------------
    def fire_due(self, now: datetime | None = None, batch: int = 500) -> TickReport:
        """Fire every due timer as of `now`, batch by batch, send the next notice of every alert
        nobody acknowledged in time, and tell staff of crisis replies not sent after minutes;
        rows another worker holds are skipped."""
        now = now or self.ctx.clock()
        report = Tick(self.ctx, now).run(batch)
        escalated = escalate_due(self.ctx, now)
        report.escalated += len(escalated)
        report.outbox_ids += escalated
        report.outbox_ids += tell_late(self.ctx, now)
        return report

    def reschedule(self, contact_ids: Iterable[int], now: datetime | None = None) -> None:
        """Plan these families' daily timers afresh (after their times or quiet hours changed)."""
        with self.ctx.transaction() as db:
            turn.reschedule(self.ctx, db, contact_ids, now or self.ctx.clock())

    # --- alerts: what staff do about them (bot/runtime/alerts/desk.py) -------------------------
    def alerts(self, status: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """Alerts of one status, newest first; or every alert not closed, then the newest closed."""
        return self._alerts.alerts(status, limit)

    def alert(self, alert_id: int) -> AlertRecord | None:
        return self._alerts.alert(alert_id)

    def acknowledge_alert(self, alert_id: int, by: str, via: str, note: str = "") -> Outcome:
        """Open -> acknowledged (console, CLI or phone: the same status); escalation stops."""
        return self._alerts.acknowledge(alert_id, by, via, note)

    def close_alert(self, alert_id: int, by: str, note: str) -> Outcome:
        return self._alerts.close(alert_id, by, note)

    def note_alert(self, alert_id: int, by: str, text: str) -> Outcome:
        return self._alerts.add_note(alert_id, by, text)

    def reach_family(self, contact_id: int, text: str) -> Reached:
        """A staff member's words to a family on their channel: never after an opt-out, held by
        their quiet hours."""
        return self._alerts.reach_family(contact_id, text)

    # --- consent and provider reports ----------------------------------------------------------
    def unsubscribe(self, claim: Claim) -> bool:
        """The family followed its one-click unsubscribe link. False if they were out already,
        or if the link does not fit the family that has its id now."""
        with self.ctx.transaction() as db:
            rows = family_sql.families_by_id(db, [claim.contact_id], lock=True)
            if not rows or not claim.fits(rows[0][1], rows[0][2]):
                return False
            return turn.opt_out(
                self.ctx,
                db,
                claim.contact_id,
                claim.channel,
                "self",
                "one-click unsubscribe link",
                self.ctx.clock(),
            )

    def opt_out_address(self, channel: str, address: str, words: str) -> bool:
        """Opt out the family at this address (a Telegram block). False if none, or out already."""
        with self.ctx.transaction() as db:
            rows = family_sql.families_by_address(db, channel, [address])
            if not rows:
                return False
            return turn.opt_out(self.ctx, db, rows[0][0], channel, "self", words, self.ctx.clock())

    def unsubscribe_words(self, claim: Claim) -> UnsubscribeWords | None:
        """The unsubscribe page's words, in the family's language; None when a genuine link no
        longer fits the family that has its id (unsubscribe.py)."""
        return page_words(self.ctx, claim)

    def set_pause(self, contact_id: int, paused: bool, reason: str) -> str:
        """Pause until resumed, or resume, a family from the console (turn.set_pause)."""
        with self.ctx.transaction() as db:
            return turn.set_pause(self.ctx, db, contact_id, paused, reason, self.ctx.clock())

    def opt_out(self, contact_id: int, channel: str, by: str, words: str) -> bool:
        """Opt a family out from outside the conversation. False if they were out already."""
        with self.ctx.transaction() as db:
            return turn.opt_out(self.ctx, db, contact_id, channel, by, words, self.ctx.clock())

    def record_reports(self, provider: str, found: Iterable[DeliveryReport]) -> list[int]:
        """A provider's delivery reports (status callbacks, email events), each recorded once;
        the outbox ids of notices to staff they call for (send them now)."""
        return reports.record(self.ctx, provider, found)

    # --- a family's own data (docs/privacy.md) ------------------------------------------------
    def export_family(self, contact_id: int) -> bytes | None:
        """Everything kept about a family, as the JSON file MYDATA gives (None: no such family)."""
        with self.ctx.db() as db:
            return family_data.export_json(db, contact_id, self.ctx.clock())

    def erase_family(self, contact_id: int, by: str) -> bool:
        """Erase a family on their request, from outside the conversation (the console, the
        CLI): every row about them goes, the address's opt-out stays as a keyed hash."""
        with self.ctx.transaction() as db:
            return family_data.erase(db, self.ctx.settings, contact_id, by, self.ctx.clock())

    def audit_family(self, action: str, contact_id: int, by: str, via: str) -> None:
        """Keep a staff action on a family's data in the audit log (the console keeps its own)."""
        with self.ctx.transaction() as db:
            family_data.audit(db, action, contact_id, by, via, self.ctx.clock())

    def mydata_locale(self, token: str) -> str | None:
        """The language of a MYDATA link's family while the link is live, else None."""
        with self.ctx.db() as db:
            return family_data.live_link_locale(db, token, self.ctx.clock())

    def take_mydata(self, token: str) -> bytes | None:
        """A MYDATA link followed: the family's data, once; None when used, expired or unknown."""
        now = self.ctx.clock()
        with self.ctx.transaction() as db:
            contact_id = family_data.take_link(db, token, now)
            return None if contact_id is None else family_data.export_json(db, contact_id, now)

    # --- upkeep --------------------------------------------------------------------------------
    def housekeeping(self) -> None:
        """Forget provider report keys older than any repeat."""
        with self.ctx.transaction() as db:
            outbox_sql.forget_reports_before(db, self.ctx.clock() - KEEP_PROVIDER_REPORTS)

    def expire_unsent(self, now: datetime | None = None) -> int:
        """End the messages past their day that no process sent (their channel off or down):
        expired, as a claim would have made them. How many."""
        with self.ctx.transaction() as db:
            return outbox_sql.expire_past_their_day(db, now or self.ctx.clock())

    def erase_expired(self, now: datetime | None = None) -> int:
        """Erase the words of messages, questions and closed alerts past RETENTION_DAYS
        (docs/privacy.md); the rows and what the stats count stay. How many rows were erased."""
        return retention.erase_expired(self.ctx, now or self.ctx.clock())

    def database_problem(self) -> str | None:
        """None when the database answers a read; else what went wrong (for /readyz's log).
        Read-only: it never takes SQLite's write lock, so a long write does not fail it."""
        try:
            ping_read_only(self.ctx.engine)
        except Exception as exc:  # the point of a readiness check is to say so, not to crash
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None
