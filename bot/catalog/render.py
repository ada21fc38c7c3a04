"""Turning a catalog entry into the words one family member sees on one channel."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from bot.catalog.catalog import Catalogs, Entry

PLACEHOLDERS = ("name", "loved_one", "Loved_one", "rewards", "org", "org_contact",
                "lesson_time", "checkin_time")
NAME_FALLBACK = "friend"


@dataclass(frozen=True)
class Audience:
    """Who a message is rendered for: their profile, locale and channel."""

    channel: str
    locale: str = "en"
    profile: Mapping[str, str] | None = None


def placeholders_in(text: str) -> list[str]:
    """'Hi {name}, {loved_one}' -> ['name', 'loved_one']; raises ValueError on broken braces."""
    return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]


def loved_one_phrase(catalogs: Catalogs, locale: str, profile: Mapping[str, str]) -> str:
    """The loved one's name if given, else 'your partner' / 'your child' / 'your loved one'."""
    if profile.get("loved_one"):
        return profile["loved_one"]
    relationship = profile.get("relationship") or "other"
    entry = catalogs.get(f"relation.{relationship}", locale) or catalogs.get("relation.other", locale)
    return entry.base.text if entry else "your loved one"


def render(catalogs: Catalogs, message_id: str, audience: Audience, org: Mapping[str, str]) -> str:
    entry = catalogs.get(message_id, audience.locale)
    if entry is None:
        raise KeyError(f"message '{message_id}' is not in the catalog for locale '{audience.locale}'")
    return render_entry(catalogs, entry, audience, org)


def render_entry(catalogs: Catalogs, entry: Entry, audience: Audience, org: Mapping[str, str]) -> str:
    profile = dict(audience.profile or {})
    forms = entry.choose(profile.get("relationship"), profile)
    loved = loved_one_phrase(catalogs, audience.locale, profile)
    values = {
        "name": profile.get("name") or NAME_FALLBACK,
        "loved_one": loved,
        "Loved_one": loved[:1].upper() + loved[1:],
        "rewards": profile.get("rewards") or "",
        "org": org.get("org", "craftbot"),
        "org_contact": org.get("org_contact", ""),
        "lesson_time": profile.get("lesson_time") or "",
        "checkin_time": profile.get("checkin_time") or "",
    }
    return forms.for_channel(audience.channel).format_map(values)
