"""A staff member writing to the bot from an on-call address: `ACK 42`, `ACK`, or anything else.

Staff addresses are never families: whatever they write (a greeting, /start, crisis words in a
note about a call) goes here, not to the engine, and no contact is ever made for them. The
answer is a short confirmation to the staff member, never anything to a family.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.runtime.alerts.desk import acknowledge_in
from bot.runtime.alerts.notices import staff_row
from bot.runtime.alerts.staff import StaffMember
from storage import console_accounts as accounts_sql
from storage import ids
from storage.db import DB
from storage.queries import alerts as alert_sql

# "ACK 42", "ack #42 - calling her now", "Acknowledged", "/ack 42": the first line that is not a
# quotation of the notice (email replies quote it below).
_ACK = re.compile(
    r"^/?(?:ack|acknowledged?|acknowledging)\b[\s:#.,-]*(?P<id>\d+)?(?P<rest>.*)$",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"^\s*(>|on .+ wrote:\s*$)", re.IGNORECASE)


def first_line(text: str) -> str:
    for line in text.splitlines():
        if _QUOTE.match(line):
            break
        if line.strip():
            return line.strip()
    return ""


def staff_reply(db: DB, member: StaffMember, text: str, now: datetime) -> list[dict[str, Any]]:
    """Act on a staff member's message, in the caller's transaction: the rows of the answer."""
    line = first_line(text)
    found = _ACK.match(line)
    if found is None:
        open_ids = alert_sql.open_ids(db)
        waiting = (
            f" Open now: {', '.join(str(i) for i in open_ids)}." if open_ids else " None is open."
        )
        return [
            _answer(
                member,
                "staff.help",
                "This address gets craftbot alerts for the team; it is not signed up as a "
                "family. To take an alert, reply ACK and its number, as in ACK 42, or ACK for "
                f"your latest.{waiting}",
                now,
            )
        ]
    written = found["id"]
    alert_id = ids.parse(written) if written else alert_sql.latest_told(db, *_at(member))
    if written and alert_id is None:  # a number no alert can have (thousands of digits, too)
        words = f"There is no alert {ids.shown(written)}. Reply ACK and the number in the notice."
        return [_answer(member, "staff.ack", words, now)]
    if alert_id is None:
        return [
            _answer(
                member,
                "staff.ack",
                "No open alert was sent to you. Reply ACK and the alert's number, as in ACK 42.",
                now,
            )
        ]
    note = found["rest"].strip(" \t-:;,.")
    outcome = acknowledge_in(db, alert_id, _who(db, member), member.channel, note, now)
    if outcome == "done":
        words = (
            f"Thank you: alert {alert_id} is acknowledged by you. Escalation to the backup list "
            "has stopped. Close it with a note in the console when it is done."
        )
    elif outcome == "already":
        current = alert_sql.one(db, alert_id)
        status, by = (current[12], current[13]) if current else ("closed", None)
        words = f"Alert {alert_id} is already {status}" + (f" by {by}." if by else ".")
    else:
        words = f"There is no alert {alert_id}. Reply ACK and the number in the notice."
    return [_answer(member, "staff.ack", words, now)]


def _who(db: DB, member: StaffMember) -> str:
    """Who acknowledged: the console account that carries this alert address (`craftbot staff
    alerts`), so the console names the person who signs in; else the list's name or address."""
    return accounts_sql.email_alerted_at(db, member.channel, member.address) or member.who


def _at(member: StaffMember) -> tuple[str, str]:
    return member.channel, member.address


def _answer(member: StaffMember, message_id: str, text: str, now: datetime) -> dict[str, Any]:
    row = staff_row(member, message_id, text, "craftbot alerts", now)
    row["kind"] = "normal"  # an answer to what they just sent: at once, paced like any reply
    return row
