"""What a coach can change about a family: pause, resume, stop messages, remove.

Each goes through the runtime's own services (`Runtime.set_pause`, `Runtime.opt_out`), so a pause
set here is the same pause a family sets by texting PAUSE: the engine skips lessons, check-ins and
nudges while it lasts, and RESUME from either side ends it. Nothing is sent to the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.console.accounts import Accounts, StaffUser
from bot.runtime.runtime import Runtime
from storage import console_queries as q

Action = Literal["pause", "resume", "stop", "remove"]


MESSAGES = {
    "gone": "This family is no longer in the program.",
    "already_paused": "This family is already paused.",
    "opted_out": "Nothing changed: this family opted out, so they get no messages to pause or "
    "resume. They can text START to come back.",
    "not_paused": "This family is not paused.",
    "paused": "Paused: no lessons, check-ins or nudges until someone resumes (the family can "
    "text RESUME). Crisis replies still go.",
    "resumed": "Resumed: lessons and check-ins start again at their next time.",
    "already_stopped": "This family had already opted out.",
    "stopped": "Stopped: this family gets no more messages from the program.",
    "removed": "The family and everything recorded about them is erased.",
}


@dataclass(frozen=True)
class Outcome:
    done: bool
    code: str  # a key of MESSAGES: what the page tells the coach

    @property
    def message(self) -> str:
        return MESSAGES[self.code]


class FamilyActions:
    def __init__(self, runtime: Runtime, accounts: Accounts) -> None:
        self.runtime, self.ctx, self.accounts = runtime, runtime.ctx, accounts

    def pause(self, contact_id: int, staff: StaffUser, ip: str) -> Outcome:
        return self._pause(contact_id, True, staff, ip)

    def resume(self, contact_id: int, staff: StaffUser, ip: str) -> Outcome:
        return self._pause(contact_id, False, staff, ip)

    def _pause(self, contact_id: int, paused: bool, staff: StaffUser, ip: str) -> Outcome:
        reason = "paused by staff" if paused else "resumed by staff"
        code = self.runtime.set_pause(contact_id, paused, reason)
        if code != "done":
            return Outcome(False, code)
        action = "family.pause" if paused else "family.resume"
        self.accounts.audit(staff, action, "family", contact_id, "", ip)
        return Outcome(True, "paused" if paused else "resumed")

    def stop(self, contact_id: int, staff: StaffUser, ip: str) -> Outcome:
        """Opt the family out (recorded in their consent history); queued messages are cancelled."""
        with self.ctx.db() as db:
            contact = q.family(db, contact_id)
        if contact is None:
            return Outcome(False, "gone")
        if not self.runtime.opt_out(
            contact_id, contact.channel, "admin", "stopped by staff in the console"
        ):
            return Outcome(False, "already_stopped")
        self.accounts.audit(staff, "family.stop", "family", contact_id, "", ip)
        return Outcome(True, "stopped")

    def export(self, contact_id: int, staff: StaffUser, ip: str) -> bytes | None:
        """Everything kept about the family, as the file MYDATA gives them (None: gone)."""
        data = self.runtime.export_family(contact_id)
        if data is not None:
            self.accounts.audit(staff, "family.export", "family", contact_id, "", ip)
        return data

    def remove(self, contact_id: int, staff: StaffUser, ip: str) -> Outcome:
        """Erase the family and everything recorded about them (a request to be forgotten)."""
        with self.ctx.db() as db:
            contact = q.family(db, contact_id)
            if contact is None:
                return Outcome(False, "gone")
            channel = contact.channel
        if not self.runtime.erase_family(contact_id, "staff"):  # as DELETE: docs/privacy.md
            return Outcome(False, "gone")
        # The audit keeps the id and channel only: nothing that names the family.
        self.accounts.audit(staff, "family.remove", "family", contact_id, channel, ip)
        return Outcome(True, "removed")
