"""Encryption at rest: the keys from DATA_KEYS, and the cipher the encrypted columns use.

Each DATA_KEYS entry is a long random secret; a Fernet key (AES-128-CBC + HMAC-SHA256) is
derived from it with HKDF, so any `secrets.token_urlsafe(48)` works. The first entry encrypts,
every entry decrypts (MultiFernet): a new key goes first, the old one stays until
`craftbot keys rotate` has re-encrypted every row with the new one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_CHARS = 32
# For `make run` and the tests only: anyone can read it here, so it protects nothing.
DEV_KEYS = ("craftbot-development-key-protects-nothing-set-DATA_KEYS",)
# Every Fernet token starts with its version byte 0x80 and a 64-bit timestamp whose top bytes
# are zero: base64 "gAAAAA". Stored text that does not is from before encryption (or erased: "").
TOKEN_PREFIX = "gAAAAA"


class DataKeyProblem(ValueError):
    """DATA_KEYS cannot be used; the message says why (never the key)."""


def parse_keys(raw: str) -> tuple[str, ...]:
    """DATA_KEYS as written: comma-separated secrets, the first one encrypting."""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for position, key in enumerate(keys, 1):
        if len(key) < MIN_KEY_CHARS:
            raise DataKeyProblem(
                f"DATA_KEYS entry {position} is shorter than {MIN_KEY_CHARS} characters"
            )
    if len(set(keys)) != len(keys):
        raise DataKeyProblem("DATA_KEYS names the same key twice")
    return keys


def _fernet(secret: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"craftbot data at rest v1"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class Cipher:
    """Encrypts with the first key, decrypts with any. Empty text stays empty (nothing to hide,
    and retention's "erased" is then a plain comparison)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise DataKeyProblem("DATA_KEYS has no key")
        self._primary = _fernet(keys[0])
        self._all = MultiFernet([self._primary, *(_fernet(k) for k in keys[1:])])
        self.key_count = len(keys)

    def encrypt(self, text: str) -> str:
        if not text:
            return text
        return self._primary.encrypt(text.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The text of a stored value; a value written before encryption reads as it is."""
        if not is_token(stored):
            return stored
        try:
            return self._all.decrypt(stored.encode("ascii")).decode()
        except InvalidToken:
            raise DataKeyProblem(
                "a stored value was encrypted with a key DATA_KEYS no longer has: "
                "put the old key back after the new one"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Encrypted with the first key already (or nothing to encrypt): rotation skips it."""
        if not stored:
            return True
        if not is_token(stored):
            return False
        try:
            self._primary.decrypt(stored.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def renew(self, stored: str) -> str:
        """The same text encrypted with the first key (plain text from before, encrypted)."""
        return self.encrypt(self.decrypt(stored))


def is_token(stored: str) -> bool:
    return stored.startswith(TOKEN_PREFIX)


def cipher_for(keys: Sequence[str] | None) -> Cipher:
    """The cipher for these keys, or the development key's when there are none."""
    return Cipher(keys or DEV_KEYS)
