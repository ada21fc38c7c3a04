"""One transaction's writes, gathered in memory while its turn runs and flushed once at the end.

Event handlers (bot/runtime/effects.py) only append here; `flush` then writes each table with one
statement (contacts: one per set of changed columns). What a handler would have changed in rows
written earlier in the same transaction (cancelling a queued message, dropping a timer) it
changes here in memory, so the flush order below gives what writing each event at once gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.runtime.family import Family
from bot.runtime.timers import plans
from bot.runtime.timers.plans import TimerKey, TimerRow
from storage.db import DB
from storage.queries import alerts as alert_sql
from storage.queries import families as family_sql
from storage.queries import family_data, questions, records, timers
from storage.queries.timers import Claim

if TYPE_CHECKING:
    from bot.runtime.alerts.notices import Notice

Row = dict[str, Any]


@dataclass
class Writes:
    outbox: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    checkins: list[Row] = field(default_factory=list)
    consents: list[Row] = field(default_factory=list)
    questions: list[Row] = field(default_factory=list)  # for a person on the team (ASK)
    answers: list[Row] = field(default_factory=list)  # to the program's own questions
    # Summaries asked for in this transaction, by the index of their outbox row: worded at
    # flush from the stored days and answers plus this transaction's own
    # (bot/runtime/summaries.py): (index, family, session, kind, now).
    summaries: list[tuple[int, Family, Any, str, datetime]] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)  # inserted unless already there
    # The (contact, kind, local day) rows of `deliveries` this transaction knows are stored or
    # about to be; of those, the ones the tick claimed for a timer that has not fired yet.
    claimed: set[Claim] = field(default_factory=set)
    reserved: set[Claim] = field(default_factory=set)
    timers: dict[TimerKey, TimerRow | None] = field(default_factory=dict)  # None: delete it
    contacts: dict[int, Row] = field(default_factory=dict)  # changed columns by contact id
    # families whose stored queued or claimed everyday messages are cancelled, and why (the ones
    # added here are cancelled in `outbox` itself)
    cancelled: dict[int, str] = field(default_factory=dict)
    paused: set[int] = field(default_factory=set)  # families whose program messages are cancelled
    reschedule: dict[int, tuple[Family, datetime]] = field(default_factory=dict)
    outbox_ids: list[int] = field(default_factory=list)  # after `flush`, in `outbox` order
    alert_ids: list[int] = field(default_factory=list)
    # Outbox rows that are staff notices of an alert of `alerts`, by their index in `outbox`:
    # worded at flush, once the alert has its id ("Reply ACK 42").
    notices: dict[int, Notice] = field(default_factory=dict)
    # MYDATA: data request rows, with the index in `outbox` of the email that carries the data.
    data_requests: list[tuple[Row, int | None]] = field(default_factory=list)
    # DELETE: families erased once everything else is written (contact id -> its address's
    # hash, by whom, when), so no row this transaction wrote for them survives.
    erase: dict[int, tuple[str, str, datetime]] = field(default_factory=dict)

    def add_outbox(self, row: Row) -> int:
        """Queue an outbox row; its index in `outbox` (its id after `flush`)."""
        self.outbox.append(row)
        return len(self.outbox) - 1

    def deliver(self, claim: Claim, at: datetime) -> None:
        """Record that this family got `kind` on this local day (a lesson said outside its timer).

        If the tick claimed that day for a timer not yet fired, this message takes the claim and
        the timer, finding it gone, is skipped: one lesson a day either way.
        """
        if claim in self.reserved:
            self.reserved.discard(claim)
        elif claim not in self.claimed:
            self.claimed.add(claim)
            contact_id, kind, day = claim
            self.deliveries.append(
                {"contact_id": contact_id, "kind": kind, "local_date": day, "at": at}
            )

    def cancel_everyday(self, contact_id: int, before: int, reason: str) -> None:
        """Cancel this family's queued everyday messages: those stored, and those added here
        before index `before`; `reason`: opted_out or crisis."""
        self.cancelled[contact_id] = reason
        for row in self.outbox[:before]:
            if (
                row["contact_id"] == contact_id
                and row["status"] == "queued"
                and row["kind"] == "normal"
            ):
                row["status"], row["reason"] = "cancelled", reason

    def cancel_program(self, contact_id: int, before: int) -> None:
        """A pause: cancel this family's queued program messages (records.cancel_program's rule),
        those stored and those added here before index `before`."""
        self.paused.add(contact_id)
        for row in self.outbox[:before]:
            if (
                row["contact_id"] == contact_id
                and row["status"] == "queued"
                and row["kind"] == "normal"
                and row.get("in_reply_to") is None
                and not row["message_id"].startswith(records.CRISIS_CARE_PREFIX)
            ):
                row["status"], row["reason"] = "cancelled", "paused"

    def change(self, contact_id: int, **columns: Any) -> None:
        self.contacts.setdefault(contact_id, {}).update(columns)

    def flush(self, db: DB) -> None:
        """Everything gathered, one statement per table. Stored outbox rows are cancelled before
        the new ones go in; deliveries go in before the reschedules that read them."""
        family_sql.update_contacts(db, self.contacts)
        records.cancel_everyday(db, self.cancelled)
        records.cancel_program(db, self.paused)
        self.alert_ids = records.add_alerts(db, self.alerts)
        for index, notice in self.notices.items():
            row = self.outbox[index]
            row["text"], subject = notice.word(self.alert_ids[notice.alert])
            row["subject"] = subject if row["channel"] == "email" else None
        self.outbox_ids = records.add_outbox(db, self.outbox)
        alert_sql.add_notices(
            db,
            [
                {
                    "alert_id": self.alert_ids[notice.alert],
                    "channel": self.outbox[index]["channel"],
                    "address": self.outbox[index]["address"],
                    "stage": notice.stage,
                    "outbox_id": self.outbox_ids[index],
                    "at": self.outbox[index]["created_at"],
                }
                for index, notice in self.notices.items()
            ],
        )
        family_data.add_requests(
            db,
            [
                {**row, "outbox_id": None if index is None else self.outbox_ids[index]}
                for row, index in self.data_requests
            ],
        )
        records.add_checkins(db, self.checkins)
        records.add_answers(db, self.answers)
        records.add_consents(db, self.consents)
        questions.add_questions(db, self.questions)
        if self.deliveries:
            timers.record_deliveries(db, self.deliveries)
        if self.reschedule:
            last = timers.last_deliveries(db, self.reschedule)
            for family, now in self.reschedule.values():
                self.timers.update(plans.reschedule(family, last, now))
        timers.drop_timers(db, [key for key, row in self.timers.items() if row is None])
        timers.set_timers(db, [row for row in self.timers.values() if row is not None])
        for contact_id, (hashed, by, now) in self.erase.items():
            family_data.erase(db, contact_id, hashed, by, now)
