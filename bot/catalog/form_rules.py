"""How one form of a message reads once it is filled in and sent: the rules docs/content.md states.

- `{loved_one}` brings its own "your" ("your partner") when no name is given, so "your
  {loved_one}" reads "your your partner"; it is lower case, so it cannot start a sentence
  ("{Loved_one}" can), and "{Loved_one}" in the middle of one reads "... and Your partner".
- SMS forms are plain characters: no emoji, no curly quotes, long dashes or the ellipsis
  character (one of them switches the whole SMS to UCS-2 and halves what two segments hold).

Each rule gives (message, hint) pairs; bot/catalog/check.py says where.
"""

from __future__ import annotations

import re
import unicodedata

Finding = tuple[str, str]  # (what is wrong, what to do)

# Words that read badly right before "your child" (or before a name): "your your child".
# Not "that": as a conjunction it reads well ("now that your partner is getting help").
DETERMINERS: dict[str, tuple[str, ...]] = {
    "en": ("your", "my", "our", "the", "a", "an", "his", "her", "their", "this"),
    "es": ("tu", "su", "mi", "el", "la", "los", "las", "un", "una", "nuestro", "nuestra"),
}
_BEFORE_LOVED_ONE = re.compile(r"(?<![\w'])([^\W\d_]+)\s+\{([Ll]oved_one)\}")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)\{loved_one\}")
_MID_SENTENCE_CAPITAL = re.compile(r"[a-z,;]\s+\{Loved_one\}")
# Punctuation with a plain twin that GSM-7 has.
TYPOGRAPHIC = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": "a plain space",
}


def placeholder_findings(text: str, locale: str) -> list[Finding]:
    out: list[Finding] = []
    determiners = DETERMINERS.get(locale.split("-")[0], DETERMINERS["en"])
    for hit in _BEFORE_LOVED_ONE.finditer(text):
        word, name = hit.group(1), hit.group(2)
        if word.lower() in determiners:
            reads = f"'{word} your partner'" if locale.startswith("en") else "twice whose it is"
            out.append(
                (
                    f"'{word} {{{name}}}' reads {reads} when no name is given",
                    f"{{{name}}} brings its own 'your': write '{{{name}}}' without '{word}'.",
                )
            )
    if _SENTENCE_START.search(text):
        out.append(
            (
                "a sentence starts with {loved_one}, which reads 'your partner' in lower case",
                "Start a sentence with {Loved_one} (capital L).",
            )
        )
    if _MID_SENTENCE_CAPITAL.search(text):
        out.append(
            (
                "{Loved_one} in the middle of a sentence reads 'Your partner' with a capital",
                "Use {loved_one} inside a sentence; {Loved_one} only where a sentence starts.",
            )
        )
    return out


def is_emoji(ch: str) -> bool:
    code = ord(ch)
    return (
        code >= 0x1F000
        or 0x2600 <= code <= 0x27BF  # symbols and dingbats: ☀ ☺ ✅ ❤
        or 0x2B00 <= code <= 0x2BFF  # arrows and stars: ⭐
        or code in (0xFE0F, 0x200D, 0x20E3)  # emoji presentation, joiner, keycap
        or (unicodedata.category(ch) == "So" and code > 0x2100)
    )


def sms_findings(text: str) -> list[Finding]:
    """What an SMS form may not hold (docs/content.md, "Length")."""
    out: list[Finding] = []
    if text.isascii():
        return out  # emoji and typographic characters are all outside ASCII
    emoji = sorted({ch for ch in set(text) if is_emoji(ch) and ch not in "\ufe0f\u200d"})
    if emoji:
        out.append(
            (
                f"the SMS form has emoji ({' '.join(emoji)}); SMS forms are plain text",
                "Remove them, or add an `sms:` form without them (Telegram and email may "
                "keep them in `text` or `long`).",
            )
        )
    fancy = sorted(set(text).intersection(TYPOGRAPHIC))
    if fancy:
        names = ", ".join(f"{ch} ({unicodedata.name(ch).lower()})" for ch in fancy)
        plain = ", ".join(f"{TYPOGRAPHIC[ch]} for {unicodedata.name(ch).lower()}" for ch in fancy)
        out.append(
            (
                f"the SMS form has typographic characters that switch it to UCS-2: {names}",
                f"SMS forms are plain characters: write {plain}.",
            )
        )
    return out
