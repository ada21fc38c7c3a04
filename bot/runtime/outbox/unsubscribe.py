"""One-click unsubscribe links: a contact id signed so nobody can unsubscribe someone else; the
words around them (the email footer's line, the page the link opens) in the family's language."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from bot.catalog.catalog import Catalogs
from bot.catalog.render import Audience, render
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.settings import Settings
from storage.queries import families as family_sql


def _key(settings: Settings) -> bytes:
    # The inbound secret is required whenever email is on, and is never sent anywhere.
    return ("craftbot-unsubscribe:" + settings.sendgrid_inbound_secret).encode()


def token_for(settings: Settings, contact_id: int) -> str:
    return hmac.new(_key(settings), str(contact_id).encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(settings: Settings, contact_id: int) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/unsubscribe/{contact_id}/{token_for(settings, contact_id)}"


def token_ok(settings: Settings, contact_id: int, token: str) -> bool:
    return hmac.compare_digest(token_for(settings, contact_id), token)


@dataclass(frozen=True)
class UnsubscribeWords:
    """The unsubscribe page's words, in the family's language (messages/<locale>/email.yaml)."""

    locale: str
    question: str
    button: str
    done: str


def footer_words(catalogs: Catalogs, locale: str, org: Mapping[str, str]) -> str:
    """The footer line before an email's unsubscribe link ("To stop these emails:")."""
    return render(catalogs, "email.unsubscribe_line", Audience("email", locale), org)


def page_words(ctx: Context, contact_id: int) -> UnsubscribeWords:
    """The page a family's unsubscribe link opens, in their language (the default one for a
    contact that is gone)."""
    catalogs = ctx.program.current.catalogs
    with ctx.db() as db:
        rows = family_sql.families_by_id(db, [contact_id])
    locale = Family.from_row(rows[0], Clocks(ctx.settings)).locale if rows else "en"
    audience, org = Audience("email", locale), ctx.settings.org_placeholders()
    question, button, done = (
        render(catalogs, f"email.{part}", audience, org)
        for part in ("unsubscribe_question", "unsubscribe_button", "unsubscribed")
    )
    return UnsubscribeWords(locale, question, button, done)
