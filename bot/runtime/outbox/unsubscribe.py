"""One-click unsubscribe links, and the words around them in the family's language.

A link is a token that names the family, its channel and its address, for this one purpose,
signed with UNSUBSCRIBE_SIGNING_KEY (a key used for nothing else). The token is checked against
the family as stored: a link works only for the contact it was made for, on the channel it was
made for, while that contact still has the address it was sent to. Contact ids are sequential,
and SQLite gives a removed family's id to the next one, so an id alone must never be enough:
without the key nobody can make a token, and a token for a removed family does not fit whoever
has its id now. The email footer's line and the page the link opens are in the family's
language (messages/<locale>/email.yaml).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer

from bot.catalog.catalog import Catalogs
from bot.catalog.render import Audience, render
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import Clocks
from bot.settings import Settings
from storage import ids
from storage.queries import families as family_sql

PURPOSE = "unsubscribe"


@dataclass(frozen=True)
class Claim:
    """What a genuine token says: this contact, on this channel, at the address with this tag."""

    contact_id: int
    channel: str
    address_tag: str

    def fits(self, channel: str, address: str) -> bool:
        return channel == self.channel and address_tag(address) == self.address_tag


def address_tag(address: str) -> str:
    # Not the address itself: the link travels in mail headers and proxies' logs.
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]


def _signer(settings: Settings, channel: str) -> URLSafeSerializer:
    # The salt binds the purpose and the channel: a token made for anything else never verifies.
    return URLSafeSerializer(settings.unsubscribe_signing_key, salt=f"craftbot/{PURPOSE}/{channel}")


def token_for(settings: Settings, contact_id: int, address: str, channel: str = "email") -> str:
    return str(_signer(settings, channel).dumps([contact_id, address_tag(address)]))


def unsubscribe_url(settings: Settings, contact_id: int, address: str) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/unsubscribe/{token_for(settings, contact_id, address)}"


def read_token(settings: Settings, token: str, channel: str = "email") -> Claim | None:
    """The claim of a token this deployment signed for `channel`, or None for anything else."""
    if not settings.unsubscribe_signing_key.strip() or len(token) > 400:
        return None
    try:
        payload = _signer(settings, channel).loads(token)
    except (BadData, UnicodeError, ValueError):
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or type(payload[0]) is not int
        or not ids.fits(payload[0])
        or not isinstance(payload[1], str)
    ):
        return None
    return Claim(payload[0], channel, payload[1])


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


def page_words(ctx: Context, claim: Claim) -> UnsubscribeWords | None:
    """The page a family's unsubscribe link opens, in their language; None when the link does not
    fit the family that has its id now (gone, another channel or another address)."""
    catalogs = ctx.program.current.catalogs
    with ctx.db() as db:
        rows = family_sql.families_by_id(db, [claim.contact_id])
    if not rows or not claim.fits(rows[0][1], rows[0][2]):  # FAMILY: id, channel, address
        return None
    locale = Family.from_row(rows[0], Clocks(ctx.settings)).locale
    audience, org = Audience("email", locale), ctx.settings.org_placeholders()
    question, button, done = (
        render(catalogs, f"email.{part}", audience, org)
        for part in ("unsubscribe_question", "unsubscribe_button", "unsubscribed")
    )
    return UnsubscribeWords(locale, question, button, done)
