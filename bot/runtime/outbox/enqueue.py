"""The outbox rows a turn writes: words rendered for one family and channel when queued.

Rendering happens at enqueue: the row holds the exact words sent, so a later catalog edit does not
change a queued message, and exports show what a family really received.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.catalog import discreet
from bot.catalog.dates import spoken_day
from bot.catalog.render import Audience, Renderer
from bot.engine import events as ev
from bot.engine.session import INDEFINITE, Session
from bot.program_files import Loaded
from bot.runtime.family import Family
from bot.runtime.outbox.hours import expires_at, held_until
from bot.settings import Settings

# An email's subject line, by kind of message: catalog ids, so it reads in the family's language.
SUBJECTS: dict[ev.SayKind, str] = {
    "normal": "email.subject",
    "crisis": "email.subject_crisis",
    "compliance": "email.subject_compliance",
}


def already_says(text: str, line: str) -> bool:
    """Does `text` already say what the appended `line` says? The same words, or, for a line
    with numbers (the safety line's 911), every one of its numbers: a step-back reply that names
    the number to call carries its own safety line, in its own words, and is not told it twice."""
    numbers = re.findall(r"\d+", line)
    if numbers:
        return all(re.search(rf"(?<!\d){n}(?!\d)", text) for n in numbers)
    return line.casefold() in text.casefold()


class Composer:
    """Outbox rows for one turn; a renderer shared by many rows chooses each message's words
    once."""

    def __init__(self, loaded: Loaded, settings: Settings, renderer: Renderer) -> None:
        self.catalogs, self.settings, self.renderer = loaded.catalogs, settings, renderer
        self.org = settings.org_placeholders()
        self.reply_window = timedelta(minutes=settings.reply_window_minutes)

    def audience(self, family: Family, session: Session, **values: str) -> Audience:
        """Who a message is worded for; `values`: placeholders only this message knows (a
        summary's counts). In discreet mode the loved one is called by the family's word."""
        profile = {
            **session.profile,
            "relationship": session.profile.get("relationship") or family.relationship or "",
            # the numbers in a lesson or a safety line ({emergency}): the same country as the
            # engine's country versions (Step.country)
            "country": session.profile.get("country") or self.settings.default_country,
            **values,
        }
        hidden = discreet.is_discreet(profile)
        return Audience(
            channel=family.channel,
            locale=family.locale,
            profile=discreet.as_discreet(profile) if hidden else discreet.with_cover_word(profile),
        )

    def words(self, audience: Audience, message_id: str) -> str:
        return self.renderer.render(self.catalogs, message_id, audience, self.org)

    def row(
        self,
        family: Family,
        session: Session,
        say: ev.Say,
        now: datetime,
        in_reply_to: int | None = None,
    ) -> dict[str, Any]:
        """The row for `say` to this family, answering inbound message `in_reply_to` (None: the
        program starts it); due when bot/runtime/outbox/hours.py says. In discreet mode
        (bot/catalog/discreet.py) the loved one is called by the family's word, and every message
        but a crisis reply starts with a neutral line under a neutral subject: safety outranks
        discretion (docs/crisis.md). `say.append`'s words end the message (the safety line)."""
        profile = {
            **session.profile,
            "relationship": session.profile.get("relationship") or family.relationship or "",
            # the numbers in a lesson or a safety line ({emergency}): the same country as the
            # engine's country versions (Step.country)
            "country": session.profile.get("country") or self.settings.default_country,
        }
        # Times as the family will see them come: a time inside their quiet hours is when the
        # quiet hours end (a 07:00 lesson comes at 08:00), so a confirmation never says 07:00.
        for name in ("lesson_time", "checkin_time"):
            if profile.get(name):
                profile[name] = family.clock.awake_time(profile[name], now)
        until = session.paused_until
        if until and until != INDEFINITE:
            end = datetime.fromisoformat(until).astimezone(family.clock.zone).date()
            profile["pause_end"] = spoken_day(end, family.locale)
        hidden = discreet.is_discreet(profile)
        audience = Audience(
            channel=family.channel,
            locale=family.locale,
            profile=discreet.as_discreet(profile) if hidden else discreet.with_cover_word(profile),
        )
        words = self.renderer.render
        text = words(self.catalogs, say.message_id, audience, self.org)
        if say.append:
            line = words(self.catalogs, say.append, audience, self.org)
            if not already_says(text, line):
                text = f"{text} {line}"
        subject = SUBJECTS[say.kind]
        if hidden and say.kind != "crisis":
            text = f"{self.lead(say.message_id, audience)}\n\n{text}"
            subject = discreet.SUBJECT
        return {
            "contact_id": family.id,
            "channel": family.channel,
            "address": family.address,
            "message_id": say.message_id,
            "kind": say.kind,
            "text": text,
            "subject": words(self.catalogs, subject, audience, self.org)
            if family.channel == "email"
            else None,
            "status": "queued",
            "not_before": held_until(
                say.kind, in_reply_to, now, family.clock, now, self.reply_window
            )
            or now,
            "in_reply_to": in_reply_to,
            "expires_at": expires_at(say.kind, now, family.clock),
            "attempts": 0,
            "media": None,
            "created_at": now,
        }

    def lead(self, message_id: str, audience: Audience) -> str:
        """The neutral line a discreet message starts with (its own, or the locale's)."""
        return self.renderer.render_line(
            self.catalogs,
            discreet.lead_template(self.catalogs, message_id, audience.locale),
            audience,
            self.org,
        )
