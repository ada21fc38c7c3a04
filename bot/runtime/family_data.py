"""A family's own data, as services: the export (MYDATA's link and attachment, `craftbot family
export`, the console), erasing it (DELETE, `craftbot family delete`, the console's Remove), and
the keyed hash an erased address is kept as (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from bot.settings import Settings
from storage.db import DB
from storage.queries import family_data

# Without ADDRESS_HASH_KEY (make run, the tests) the hash is keyed with this, which anyone can
# read here: set the key in production (docs/deploy.md).
DEV_HASH_KEY = "craftbot-development-address-hash-key"
FILE_NAME = "craftbot-my-data.json"
LINK_LIFE = timedelta(hours=24)  # MYDATA's link works once, for a day (messages/*/privacy.yaml)
MEDIA_TYPE = "application/json"


def address_hash(settings: Settings, channel: str, address: str) -> str:
    """HMAC-SHA256 of the address as stored (E.164, lower-case email, a chat id)."""
    key = (settings.address_hash_key or DEV_HASH_KEY).encode()
    return hmac.new(key, f"{channel}\n{address}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_request(
    settings: Settings, contact_id: int, channel: str, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    """A data request row: on email none needs a link (the data goes as an attachment); elsewhere
    a fresh single-use token, returned once here and kept only as its hash."""
    token = None if channel == "email" else secrets.token_urlsafe(32)
    row = {
        "contact_id": contact_id,
        "token_hash": token_hash(token) if token else None,
        "created_at": now,
        "expires_at": now + LINK_LIFE,
        "used_at": None,
    }
    return token, row


def link(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/mydata/{token}"


def export_json(db: DB, contact_id: int, now: datetime) -> bytes | None:
    """Everything kept about this family, as the JSON file they get (None: no such family)."""
    data = family_data.export(db, contact_id)
    if data is None:
        return None
    data = {"exported_at": now.isoformat(), "what_this_is": ABOUT, **data}
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


ABOUT = (
    "Everything craftbot keeps about you: your profile, the consent history, your check-ins, the "
    "messages you sent and received, questions to the team and crisis alerts. Reply DELETE to "
    "erase it all."
)


def live_link_locale(db: DB, token: str, now: datetime) -> str | None:
    return family_data.link_locale(db, token_hash(token), now)


def take_link(db: DB, token: str, now: datetime) -> int | None:
    return family_data.take_link(db, token_hash(token), now)


def take_attachments(db: DB, outbox_ids: list[int], now: datetime) -> dict[int, int]:
    return family_data.take_attachments(db, outbox_ids, now)


def erase(db: DB, settings: Settings, contact_id: int, by: str, now: datetime) -> bool:
    """Erase the family inside the caller's transaction; keep the address's opt-out as a hash."""
    values = family_data.contact_address(db, contact_id)
    if values is None:
        return False
    channel, address = values
    return family_data.erase(db, contact_id, address_hash(settings, channel, address), by, now)


def audit(db: DB, action: str, contact_id: int, by: str, via: str, now: datetime) -> None:
    family_data.audit(db, action, contact_id, by, via, now)


def was_erased(db: DB, settings: Settings, channel: str, addresses: list[str]) -> set[str]:
    """Which of these addresses had their data erased (an enrolment must not add them again)."""
    hashed = {address_hash(settings, channel, a): a for a in addresses}
    return {hashed[h] for h in family_data.was_erased(db, channel, list(hashed))}
