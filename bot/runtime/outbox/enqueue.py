"""The outbox rows a turn writes: words rendered for one family and channel when queued.

Rendering happens at enqueue: the row holds the exact words sent, so a later catalog edit does not
change a queued message, and exports show what a family really received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.catalog.render import Audience, Renderer
from bot.engine import events as ev
from bot.engine.session import Session
from bot.program_files import Loaded
from bot.runtime.family import Family
from bot.settings import Settings

# An email's subject line, by kind of message: catalog ids, so it reads in the family's language.
SUBJECTS: dict[ev.SayKind, str] = {
    "normal": "email.subject",
    "crisis": "email.subject_crisis",
    "compliance": "email.subject_compliance",
}


class Composer:
    """Outbox rows for one turn; a renderer shared by many rows chooses each message's words
    once."""

    def __init__(self, loaded: Loaded, settings: Settings, renderer: Renderer) -> None:
        self.catalogs, self.settings, self.renderer = loaded.catalogs, settings, renderer
        self.org = settings.org_placeholders()

    def row(self, family: Family, session: Session, say: ev.Say, now: datetime) -> dict[str, Any]:
        """The row for `say` to this family: held until their quiet hours end, unless a crisis
        reply."""
        profile = {
            **session.profile,
            "relationship": session.profile.get("relationship") or family.relationship or "",
            # the numbers in a lesson or a safety line ({emergency}): the same country as the
            # engine's country versions (Step.country)
            "country": session.profile.get("country") or self.settings.default_country,
        }
        audience = Audience(channel=family.channel, locale=family.locale, profile=profile)
        words = self.renderer.render
        return {
            "contact_id": family.id,
            "channel": family.channel,
            "address": family.address,
            "message_id": say.message_id,
            "kind": say.kind,
            "text": words(self.catalogs, say.message_id, audience, self.org),
            "subject": words(self.catalogs, SUBJECTS[say.kind], audience, self.org)
            if family.channel == "email"
            else None,
            "status": "queued",
            "not_before": now if say.kind == "crisis" else family.clock.held_until(now),
            "attempts": 0,
            "created_at": now,
        }
