"""One-click unsubscribe links: a contact id signed so nobody can unsubscribe someone else."""

from __future__ import annotations

import hashlib
import hmac

from bot.settings import Settings


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
