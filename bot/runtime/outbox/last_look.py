"""The last look at a claimed everyday row, just before its provider call and after every wait.

A worker claims rows a few seconds before it sends them, and a send waits for its channel's
pace; meanwhile a family may send STOP, or their quiet hours may begin. So right before the
provider call (after the pace, not before it), the row and its family are read again, and the
row goes only if it still may:

    the row was cancelled (STOP, PAUSE, a crisis) or erased -> not sent, nothing to write
    its family opted out (an everyday message)              -> cancelled, reason opted_out
    quiet hours began (bot/runtime/outbox/hours.py's rule)  -> queued again for when they end,
                                                               the attempt not counted
    ... and that falls after the row's expiry               -> expired, reason day_over

A crisis reply or a notice to staff has no last look: it goes at once, whatever the hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.hours import held_until

# "unknown": the database did not answer; the row is given back as it was, never sent blind.
Why = Literal["cancelled", "opted_out", "held", "expired", "unknown"]


@dataclass(frozen=True, slots=True)
class NotSent:
    """Why the last look kept a row from the provider; `until`: when a held row may go."""

    why: Why
    until: datetime | None = None


def verdicts(
    rows: Sequence[Sequence[Any]],
    ids: Sequence[int],
    clocks: Clocks,
    now: datetime,
    reply_window: timedelta,
) -> dict[int, NotSent | None]:
    """For each id, None (send it now) or why not; `rows`: storage's LAST_LOOK columns."""
    found = {row[0]: row for row in rows}
    out: dict[int, NotSent | None] = {}
    for row_id in ids:
        row = found.get(row_id)
        if row is None:
            out[row_id] = NotSent("cancelled")
            continue
        (
            _,
            status,
            kind,
            in_reply_to,
            written,
            expires,
            family_status,
            timezone,
            quiet_start,
            quiet_end,
        ) = row
        if status != "sending":
            out[row_id] = NotSent("cancelled")
        elif family_status == "opted_out" and kind == "normal":
            out[row_id] = NotSent("opted_out")
        else:
            clock = clocks.of(timezone, quiet_start, quiet_end) if family_status else None
            until = held_until(kind, in_reply_to, written, clock, now, reply_window)
            if until is None:
                out[row_id] = None
            elif expires is not None and until >= expires:
                out[row_id] = NotSent("expired")
            else:
                out[row_id] = NotSent("held", until)
    return out
