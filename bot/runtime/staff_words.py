"""Words a person on the team wrote to a family (an alert's "reach the family", an answer to an
ASK question), queued on the family's channel inside the caller's transaction.

One place builds these outbox rows: never to a family who opted out, held by their quiet hours
like any message the program starts (the dispatcher checks both again when it sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.catalog import discreet
from bot.catalog.render import Audience, Renderer, render
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.hours import expires_at, held_until
from storage.db import DB
from storage.queries import families as family_sql
from storage.queries import records

MAX_TEXT = 1600  # ten SMS segments
Refusal = Literal["", "empty", "gone", "opted_out"]


@dataclass(frozen=True)
class Reached:
    """What was queued: the outbox id, and when quiet hours let it go (None: now)."""

    outbox_id: int | None
    not_before: datetime | None = None
    refused: Refusal = ""  # why nothing was queued


def queue_staff_words(
    ctx: Context, db: DB, contact_id: int, text: str, message_id: str, subject: str, now: datetime
) -> Reached:
    """Queue `text` for this family (on email under `subject`, a catalog id rendered in the
    family's language: email.subject_team); refuse an empty text, a family that is gone or one
    who opted out."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        return Reached(None, refused="empty")
    rows = family_sql.families_by_id(db, [contact_id], lock=True)
    if not rows:
        return Reached(None, refused="gone")
    family = Family.from_row(rows[0], Clocks(ctx.settings))
    if family.status == "opted_out":
        return Reached(None, refused="opted_out")
    # the program's words, not an answer to the family's message: quiet hours hold them
    due = held_until("normal", None, now, family.clock, now, timedelta(0)) or now
    catalogs, org = ctx.program.current.catalogs, ctx.settings.org_placeholders()
    profile = family.session.profile
    if discreet.is_discreet(profile):  # a person's words too start with the neutral line
        audience = Audience(family.channel, family.locale, discreet.as_discreet(profile))
        lead = discreet.lead_template(catalogs, discreet.LEAD, family.locale)
        text = f"{Renderer().render_line(catalogs, lead, audience, org)}\n\n{text}"
        subject = discreet.SUBJECT
    row = {
        "contact_id": family.id,
        "channel": family.channel,
        "address": family.address,
        "message_id": message_id,
        "kind": "normal",
        "text": text,
        "subject": render(catalogs, subject, Audience("email", family.locale), org)
        if family.channel == "email"
        else None,
        "status": "queued",
        "not_before": due,
        "expires_at": expires_at("normal", now, family.clock),
        "attempts": 0,
        "media": None,
        "created_at": now,
    }
    [outbox_id] = records.add_outbox(db, [row])
    return Reached(outbox_id, due if due > now else None)
