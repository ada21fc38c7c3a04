"""Turning a catalog entry into the words one family member sees on one channel."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from bot.catalog.catalog import KNOWABLE_FIELDS, Catalogs, Entry

# Numbers only the weekly summary knows; whoever renders a summary puts them in the profile
# mapping it renders with. Outside summary.* messages they are refused (catalog/audiences.py).
CONTEXT_PLACEHOLDERS = ("non_use_days", "use_days", "unsure_days", "wellbeing")
# Words that depend on the family's country (their profile's `country`): `{emergency}` is the
# catalog entry `number.emergency.GB` for a family in GB when there is one, else the plain,
# international `number.emergency` (messages/<locale>/numbers.yaml, crisis_<cc>.yaml): the same
# rule as a whole message's country version, so a lesson never names another country's line.
COUNTRY_PLACEHOLDERS = (
    "emergency",
    "call_crisis_line",
    "dv_line",
    "naloxone",
    "naloxone_where",
    "good_samaritan",
)
PLACEHOLDERS = (
    "name",
    "loved_one",
    "Loved_one",
    "rewards",
    "org",
    "org_contact",
    "answer_within",
    "lesson_time",
    "checkin_time",
    "pause_end",
    *CONTEXT_PLACEHOLDERS,
    *COUNTRY_PLACEHOLDERS,
)
# Placeholders known only for some families: used only in a `when_known:` variant of their own.
ONLY_WHEN_KNOWN = ("rewards", "pause_end")
NAME_FALLBACK = "friend"  # when a locale has no `name.fallback` message of its own


def name_fallback(catalogs: Catalogs, locale: str) -> str:
    """What {name} is for a family who gave none, in their language ("friend", "amigo/a")."""
    entry = catalogs.get("name.fallback", locale)
    return entry.base.text if entry else NAME_FALLBACK


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
    entry = catalogs.get(f"relation.{relationship}", locale) or catalogs.get(
        "relation.other", locale
    )
    return entry.base.text if entry else "your loved one"


def render(catalogs: Catalogs, message_id: str, audience: Audience, org: Mapping[str, str]) -> str:
    entry = catalogs.get(message_id, audience.locale)
    if entry is None:
        raise KeyError(
            f"message '{message_id}' is not in the catalog for locale '{audience.locale}'"
        )
    return render_entry(catalogs, entry, audience, org)


def country_words(catalogs: Catalogs, locale: str, country: str) -> dict[str, str]:
    """'{emergency}' and its kind for a family of this country: `number.<name>.<country>`, else
    the international `number.<name>` ("your local emergency number")."""
    words = {}
    for name in COUNTRY_PLACEHOLDERS:
        entry = (catalogs.get(f"number.{name}.{country}", locale) if country else None) or (
            catalogs.get(f"number.{name}", locale)
        )
        words[name] = entry.base.text if entry else ""
    return words


def longest_country_words(catalogs: Catalogs, locale: str) -> dict[str, str]:
    """Each country placeholder's longest value in this locale (any country's), for checks that
    must hold for every family: an SMS still fits with the longest line filled in."""
    entries = catalogs.locales.get(locale, {})
    longest = {}
    for name in COUNTRY_PLACEHOLDERS:
        values = [e.base.text for i, e in entries.items() if i.split(".")[:2] == ["number", name]]
        if values:
            longest[name] = max(values, key=len)
    return longest


def render_entry(
    catalogs: Catalogs, entry: Entry, audience: Audience, org: Mapping[str, str]
) -> str:
    profile = dict(audience.profile or {})
    forms = entry.choose(profile.get("relationship"), profile)
    loved = loved_one_phrase(catalogs, audience.locale, profile)
    country = country_words(catalogs, audience.locale, profile.get("country") or "")
    text = forms.for_channel(audience.channel).format_map(
        placeholders(
            profile, loved, org, country, audience.locale, name_fallback(catalogs, audience.locale)
        )
    )
    return catalogs.sms_text(text, audience.locale) if audience.channel == "sms" else text


def placeholders(
    profile: Mapping[str, str],
    loved: str,
    org: Mapping[str, str],
    country: Mapping[str, str] | None = None,
    locale: str = "",
    nameless: str = NAME_FALLBACK,
) -> dict[str, str]:
    """The values a message's {placeholders} take for this family (docs/content.md lists them);
    `locale` picks the words of settings given per language (the answer time)."""
    return {
        "name": profile.get("name") or nameless,
        "loved_one": loved,
        "Loved_one": loved[:1].upper() + loved[1:],
        "rewards": profile.get("rewards") or "",
        "org": org.get("org", "craftbot"),
        "org_contact": org.get(f"org_contact.{locale}") or org.get("org_contact", ""),
        "answer_within": org.get(f"answer_within.{locale}") or org.get("answer_within", ""),
        "lesson_time": profile.get("lesson_time") or "",
        "checkin_time": profile.get("checkin_time") or "",
        "pause_end": profile.get("pause_end") or "",
        **{key: profile.get(key) or "" for key in CONTEXT_PLACEHOLDERS},
        **(country or {}),
    }


class Renderer:
    """`render` for many families at once: each message's chosen words are looked up once.

    Which words a family gets depends only on the message, locale, channel, relationship and
    which profile fields are known, so those choices (and the loved-one phrase by relationship)
    are remembered; the family's own values are filled in every time. A new Catalogs object (a
    program reload) starts afresh.
    """

    def __init__(self) -> None:
        self._catalogs: Catalogs | None = None
        self._templates: dict[tuple[object, ...], str] = {}
        self._phrases: dict[tuple[str, str], str] = {}
        self._countries: dict[tuple[str, str], dict[str, str]] = {}

    def render(
        self, catalogs: Catalogs, message_id: str, audience: Audience, org: Mapping[str, str]
    ) -> str:
        if catalogs is not self._catalogs:
            self._catalogs, self._templates, self._phrases = catalogs, {}, {}
            self._countries = {}
        profile = audience.profile or {}
        relationship = profile.get("relationship")
        key = (
            message_id,
            audience.locale,
            audience.channel,
            relationship,
            *map(bool, map(profile.get, KNOWABLE_FIELDS)),
        )
        template = self._templates.get(key)
        if template is None:
            entry = catalogs.get(message_id, audience.locale)
            if entry is None:
                raise KeyError(
                    f"message '{message_id}' is not in the catalog for locale '{audience.locale}'"
                )
            template = self._templates[key] = entry.choose(relationship, profile).for_channel(
                audience.channel
            )
        loved = profile.get("loved_one")
        if not loved:
            phrase_key = (audience.locale, relationship or "")
            loved = self._phrases.get(phrase_key)
            if loved is None:
                loved = self._phrases[phrase_key] = loved_one_phrase(
                    catalogs, audience.locale, profile
                )
        where = (audience.locale, profile.get("country") or "")
        country = self._countries.get(where)
        if country is None:
            country = self._countries[where] = country_words(catalogs, *where)
        nameless = name_fallback(catalogs, audience.locale)
        text = template.format_map(
            placeholders(profile, loved, org, country, audience.locale, nameless)
        )
        return catalogs.sms_text(text, audience.locale) if audience.channel == "sms" else text

    def render_line(
        self, catalogs: Catalogs, template: str, audience: Audience, org: Mapping[str, str]
    ) -> str:
        """A one-line template (a discreet lead) filled for this family."""
        profile = audience.profile or {}
        nameless = name_fallback(catalogs, audience.locale)
        text = template.format_map(placeholders(profile, "", org, None, audience.locale, nameless))
        return catalogs.sms_text(text, audience.locale) if audience.channel == "sms" else text
