"""SMS segment counting: GSM-7 versus UCS-2, as carriers bill it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")
_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(_GSM7_BASIC | _GSM7_EXTENDED))) + "]")
_EXTENDED = re.compile("[" + re.escape("".join(sorted(_GSM7_EXTENDED))) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each

Encoding = Literal["GSM-7", "UCS-2"]


def count_segments(text: str) -> tuple[Encoding, int]:
    """Segments a carrier bills for `text`.

    GSM-7: 160 septets in one segment, 153 per segment when split; extension characters (€ [ ] ...)
    take two septets. Any other character forces UCS-2: 70 code units, 67 per segment when split,
    and characters outside the BMP (emoji) take two units.
    """
    if _NOT_GSM7.search(text) is None:
        septets = len(text) + len(_EXTENDED.findall(text))
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text) + len(_ASTRAL.findall(text))
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


def non_gsm_characters(text: str) -> list[str]:
    """The characters that push a text from GSM-7 into UCS-2 (curly quotes, dashes, emoji)."""
    return sorted(set(text) - _GSM7_BASIC - _GSM7_EXTENDED)


def plain_sms(text: str, plain: Mapping[str, str]) -> str:
    """`text` with `plain`'s letters replaced ("á" -> "a") when that saves a segment.

    One letter outside GSM-7 makes the whole SMS UCS-2, so a Spanish text of 300 characters
    takes five segments with its accents and two without; a short one ("¿Cómo estás?") costs the
    same either way and keeps them.
    """
    if not plain or text.isascii() or not any(ch in plain for ch in text):
        return text  # the usual English case costs one C-level check
    bare = "".join(plain.get(ch, ch) for ch in text)
    return bare if count_segments(bare)[1] < count_segments(text)[1] else text
