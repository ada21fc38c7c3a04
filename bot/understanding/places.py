"""Countries: the one a time zone belongs to, and the one a reply names ("UK", "México").

Pure: the tables come in from the loader (bot/understanding/files.py reads tzdata's zone.tab and
iso3166.tab, and the `countries:` words of each answers.yaml). A country is its ISO 3166 code;
OTHER ("another country", "none of these") is `ZZ`, a country we have no numbers for, so the
family gets the international replies rather than another country's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.understanding.text import normalize

SOMEWHERE_ELSE = "ZZ"
_LEAD_IN = re.compile(
    r"^(?:i'm in|im in|i am in|i live in|we live in|we're in|were in|we are in|in|"
    r"vivo en|vivimos en|estoy en|estamos en|en|from|de)\s+"
)
_ARTICLE = re.compile(r"^(?:the|el|la|los)\s+")


@dataclass(frozen=True)
class Places:
    zone_country: Mapping[str, str]  # "Europe/London" -> "GB"
    names: Mapping[str, str]  # normalised name -> code: "united kingdom" -> "GB"

    def country_of_zone(self, zone: str | None) -> str | None:
        """The country of an IANA zone, or None ("UTC", "Etc/GMT+5" say none)."""
        return self.zone_country.get(zone or "")

    def read_country(self, text: str, words: Iterable[Mapping[str, str]] = ()) -> str | None:
        """The country a reply names: first each language's own words for it (`words`, the
        `countries:` of answers.yaml: "uk", "eeuu", "other"), then every country's English
        name. None when it names no country."""
        norm = normalize(text)
        norm = _ARTICLE.sub("", _LEAD_IN.sub("", norm)).strip()
        if not norm:
            return None
        for table in words:
            if norm in table:
                return table[norm]
        return self.names.get(norm)


def zone_table(text: str) -> dict[str, str]:
    """tzdata's zone.tab: 'GB<tab>+513030-0000731<tab>Europe/London' -> {'Europe/London': 'GB'}."""
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#"):
            out[parts[2]] = parts[0]
    return out


def name_table(text: str) -> dict[str, str]:
    """tzdata's iso3166.tab: 'GB<tab>Britain (UK)' -> {'britain': 'GB', 'britain uk': 'GB'}.

    Codes themselves are not names here: a bare "NO" or "IN" is far more often a word than
    Norway or India (answers.yaml lists the codes people type for the countries we cover)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or line.startswith("#"):
            continue
        code, name = parts[0], parts[1]
        for variant in (name, re.sub(r"\s*\(.*?\)", "", name), *re.findall(r"\((.*?)\)", name)):
            key = normalize(variant)
            if key and len(key) > 2:
                out.setdefault(key, code)
    return out
