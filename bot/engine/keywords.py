"""Matching whole-message keywords (STOP, HELP, PAUSE 3 days) and reading their arguments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from bot.flows.model import Keyword
from bot.understanding.text import normalize

# "3", "3 days", "for 2 weeks"; in Spanish (accents already gone) "3 dias", "por 2 semanas".
_AMOUNT = re.compile(
    r"^(?:for\s+|por\s+)?(\d{1,3})\s*"
    r"(d|day|days|dia|dias|w|wk|week|weeks|sem|semana|semanas)?$"
)

# Words of politeness around a keyword ("STOP please", "por favor, AYUDA"): the keyword is still
# the whole message. Normalised, longest first.
_POLITE = re.compile(
    r"^(?:(?:please|pls|plz|por favor|thanks|thank you|gracias|ok|okay)\s+)+"
    r"|(?:\s+(?:please|pls|plz|por favor|thanks|thank you|gracias))+$"
)


def match_keyword(
    keywords: Sequence[Keyword], text: str, hint: str | None, opted_out: bool, channel: str = ""
) -> tuple[Keyword, str] | None:
    """The keyword a message is, with the rest of it as an argument ("PAUSE 3 days" -> "3 days").

    Only a whole message counts ("please stop texting at work" is not STOP), except that a
    keyword that `takes` an argument may be followed by one, and words of politeness around it
    do not count ("STOP please", "por favor, AYUDA"). A provider's hint (Twilio's
    OptOutType) names the keyword outright. Words listed `on:` a channel count only there (YES
    re-subscribes on SMS, where carriers treat it as an opt-in word, and nowhere else). Case and
    accents never matter: the words were normalised when read ("LECCIÓN" is "leccion"), and so
    is the message ("Lección", "leccion").
    """
    whole = normalize(text)
    norm = _POLITE.sub("", whole) or whole
    first, _, rest = norm.partition(" ")
    hinted = normalize(hint) if hint else ""
    for keyword in keywords:
        if keyword.when == "opted_out" and not opted_out:
            continue
        if keyword.when == "active" and opted_out:
            continue
        if hinted and hinted in keyword.words:
            return keyword, ""
        if norm in keyword.words or norm in keyword.words_on_channel(channel):
            return keyword, ""
        if keyword.takes and first in keyword.words and rest:
            return keyword, rest
    return None


def pause_until(arg: str, now: datetime) -> datetime | None:
    """'3' or '3 days' -> now + 3 days; '2 weeks' -> now + 14 days; '2026-12-01' -> that date; '' ->
    None."""
    arg = arg.strip()
    if not arg:
        return None
    match = _AMOUNT.match(arg)
    if match:
        weeks = (match.group(2) or "d").startswith(("w", "sem"))
        days = int(match.group(1)) * (7 if weeks else 1)
        return now + timedelta(days=max(days, 1))
    try:
        day = date.fromisoformat(arg.replace(" ", ""))
    except ValueError:
        return None
    return datetime.combine(day, time(0), tzinfo=now.tzinfo) if day > now.date() else None
