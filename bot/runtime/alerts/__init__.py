"""The alerts room: the human loop around every alert (docs/crisis.md).

open (raising.py, inside a turn) -> notify the on-call list (notices.py) -> wait for an ACK from
any channel (phone.py), the console or the CLI (desk.py) -> escalate to the backup list and
repeat until acknowledged (escalation.py, driven by the tick) -> closed with a note (desk.py).
A crisis reply the outbox cannot deliver comes back here (undeliverable.py).
"""

from bot.runtime.alerts.undeliverable import Undelivered, undeliverable

__all__ = ["Undelivered", "undeliverable"]
