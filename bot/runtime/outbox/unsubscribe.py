"""One-click unsubscribe links: a token that names the family, its channel and its address, for
this one purpose, signed with UNSUBSCRIBE_SIGNING_KEY (a key used for nothing else).

The token is checked against the family as stored: a link works only for the contact it was
made for, on the channel it was made for, while that contact still has the address it was sent
to. Contact ids are sequential, and SQLite gives a removed family's id to the next one, so an id
alone must never be enough: without the key nobody can make a token, and a token for a removed
family does not fit whoever has its id now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer

from bot.settings import Settings

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
        or not isinstance(payload[1], str)
    ):
        return None
    return Claim(payload[0], channel, payload[1])
