"""Retention (docs/privacy.md): the worker erases the words older than RETENTION_DAYS."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.runtime.context import Context
from storage.queries.retention import KEPT, erase_batch

BATCH = 1000  # rows a transaction: short, so webhooks never wait long behind it


def erase_expired(ctx: Context, now: datetime) -> int:
    """Erase the words of every row past retention at `now`, a batch a transaction; how many."""
    cutoff = now - timedelta(days=ctx.settings.retention_days)
    total = 0
    for kept in KEPT:
        while True:
            with ctx.transaction() as db:
                erased = erase_batch(db, kept, cutoff, BATCH)
            total += erased
            if erased < BATCH:
                break
    return total
