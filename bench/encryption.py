"""`python -m bench.encryption`: what encryption at rest costs (docs/privacy.md), on this machine.

- the cipher alone: encrypting and decrypting a lesson-sized text (about 600 characters) and a
  reply-sized one (about 160), microseconds each;
- a whole inbound message (a check-in reply: its text stored, the family's session read and
  written, the reply queued), with encryption and with the columns stored plain, on a SQLite
  file: the difference is what encryption adds to a message.
Asserts nothing about time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build
from bot.channels.base import InboundMessage
from bot.settings import Settings
from storage.crypto import Cipher

KEY = "bench-key-bench-key-bench-key-bench-key-0001"
NOW = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 18:30 in New York: after the check-in
LESSON = ("When your loved one comes home sober, notice it and say something warm. " * 9)[:600]
REPLY = ("Thank you for telling me. A hard day is still a day you showed up. " * 3)[:160]
JOIN = ["hi", "yes", "Ana", "1", "no", "Jake", "eastern", "9am", "7pm"]


class PlainCipher(Cipher):
    """Stores text as it is: the cost of everything but the encryption."""

    def encrypt(self, text: str) -> str:
        return text

    def decrypt(self, stored: str) -> str:
        return stored


def cipher_us(text: str, n: int = 20_000) -> tuple[float, float]:
    """(encrypt, decrypt) microseconds for one text of this size."""
    cipher = Cipher([KEY])
    started = time.perf_counter()
    tokens = [cipher.encrypt(text) for _ in range(n)]
    encrypting = time.perf_counter() - started
    started = time.perf_counter()
    for token in tokens:
        cipher.decrypt(token)
    decrypting = time.perf_counter() - started
    return encrypting / n * 1e6, decrypting / n * 1e6


def inbound_ms(folder: Path, encrypted: bool, families: int = 150) -> list[float]:
    """Milliseconds for each family's check-in reply, after each has joined."""
    settings = Settings(database_url=f"sqlite:///{folder}/enc_{encrypted}.db", data_keys=KEY)
    app = build(settings, channels={}, clock=lambda: NOW)
    if not encrypted:
        app.engine.dialect.data_cipher = PlainCipher([KEY])  # type: ignore[attr-defined]
    start = NOW - timedelta(days=1)
    for f in range(families):
        for n, words in enumerate(JOIN):
            message = InboundMessage("sms", f"+1201555{f:04d}", words, f"j{f}-{n}")
            app.runtime.handle_inbound(message, start + timedelta(seconds=n))
    costs = []
    for f in range(families):
        message = InboundMessage("sms", f"+1201555{f:04d}", "a good day, he didn't use", f"c{f}")
        started = time.perf_counter()
        app.runtime.handle_inbound(message, NOW)
        costs.append((time.perf_counter() - started) * 1000)
    app.engine.dispose()
    return costs


def run(folder: Path) -> dict[str, Any]:
    lesson_enc, lesson_dec = cipher_us(LESSON)
    reply_enc, reply_dec = cipher_us(REPLY)
    plain = inbound_ms(folder, encrypted=False)
    sealed = inbound_ms(folder, encrypted=True)
    plain_ms, sealed_ms = statistics.median(plain), statistics.median(sealed)
    return {
        "encrypt_lesson_us": round(lesson_enc, 1),
        "decrypt_lesson_us": round(lesson_dec, 1),
        "encrypt_reply_us": round(reply_enc, 1),
        "decrypt_reply_us": round(reply_dec, 1),
        "inbound_plain_p50_ms": round(plain_ms, 3),
        "inbound_encrypted_p50_ms": round(sealed_ms, 3),
        "encryption_ms_per_inbound_message": round(sealed_ms - plain_ms, 3),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="craftbot-bench-enc-") as tmp:
        figures = run(Path(tmp))
    for name, value in figures.items():
        print(f"{name:<40}{value:>10}")


if __name__ == "__main__":
    main()
