"""When an outbox row may go: the one rule of quiet hours, asked when a row is written and again
just before it is sent.

Quiet hours keep the program from waking a family; they never hold the answer to a person's own
message, who is awake and waiting for it (carriers expect HELP and STOP answered at once):

    a crisis reply, or a notice to staff                  -> now, at any hour
    an answer to inbound message N, within REPLY_WINDOW   -> now, at any hour
    an answer older than the window (the worker was down) -> like the program's: the morning
    anything the program starts (lesson, check-in, nudge,
      follow-up, a coach's words from the console)        -> the end of the family's quiet hours

A family writes HELP at 02:00: the answer goes at 02:00. A reply queued at 23:50 that could not
go before 01:00 waits for 08:00, so a backlog never wakes anyone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.runtime.family_clock import FamilyClock


def held_until(
    kind: str,
    in_reply_to: int | None,
    written: datetime,
    clock: FamilyClock | None,
    now: datetime,
    reply_window: timedelta,
) -> datetime | None:
    """None when the row may go at `now`; else when it may (the end of quiet hours). `clock` is
    the family's (None: a row to staff)."""
    if kind == "crisis" or clock is None:
        return None
    if in_reply_to is not None and now - written <= reply_window:
        return None
    return clock.quiet_until(now)


def expires_at(kind: str, written: datetime, clock: FamilyClock | None) -> datetime | None:
    """When a row is worth nothing any more, and is expired instead of sent.

    A crisis reply or a staff notice: never (one that cannot be delivered alerts staff). Anything
    else: at the end of the family's local day on which it may first go by the program's rule, so
    a lesson or a check-in is never sent the day after, and an answer held to the morning (see
    above) still goes that morning: HELP at 23:50 expires at the end of the next day.
    """
    if kind == "crisis" or clock is None:
        return None
    return clock.day_end(clock.held_until(written))
