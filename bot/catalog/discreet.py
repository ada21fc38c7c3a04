"""Discreet mode (docs/privacy.md): what a lock screen shows of a message must not give a family
away. Each message but a crisis reply starts with a neutral line, the loved one is called by the
family's own word, and an email's subject is neutral.

    a lesson, discreet:  "Hi Ana, a note for you.\\n\\nWhen Sam comes home ..."

`check_discreet` is the content check: every message's discreet line (its own `discreet:` or the
locale's discreet.lead) names no one and holds no word of messages/discreet_words.<locale>.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.catalog.banned_terms import BannedTerms
from bot.catalog.catalog import Catalogs, Entry
from bot.catalog.render import COUNTRY_PLACEHOLDERS, placeholders_in
from bot.problems import Problem
from bot.understanding.text import strip_accents

LEAD = "discreet.lead"  # the line a message without its own `discreet:` starts with
SUBJECT = "email.subject_discreet"
# Placeholders a discreet line may not use: they name the loved one or what they enjoy, or a
# country's emergency and help lines.
NAMING = ("loved_one", "Loved_one", "rewards", *COUNTRY_PLACEHOLDERS)


def is_discreet(profile: Mapping[str, str]) -> bool:
    return profile.get("discreet") == "yes"


def as_discreet(profile: Mapping[str, str]) -> dict[str, str]:
    """The profile a discreet message is rendered with: the family's word for the loved one, or
    none at all (then "your partner", "your loved one"), never the name."""
    out = dict(profile)
    out["loved_one"] = profile.get("cover_word") or ""
    return out


def with_cover_word(profile: Mapping[str, str]) -> Mapping[str, str]:
    """Discreet mode off: the name if they gave one, else the word they chose when discreet."""
    if profile.get("loved_one") or not profile.get("cover_word"):
        return profile
    return {**profile, "loved_one": profile["cover_word"]}


def lead_template(catalogs: Catalogs, message_id: str, locale: str) -> str:
    """The discreet line of a message, unfilled: its own `discreet:`, else the locale's lead."""
    entry = catalogs.get(message_id, locale)
    if entry is not None and entry.discreet:
        return entry.discreet
    lead = catalogs.get(LEAD, locale)
    return lead.base.text if lead is not None else ""


def check_discreet(catalogs: Catalogs, words_by_locale: Mapping[str, BannedTerms]) -> list[Problem]:
    """Every message of every locale has a discreet line that gives nothing away (matched with
    accents ignored, so a Spanish SMS without them is held to the same list)."""
    problems: list[Problem] = []
    for locale, entries in catalogs.locales.items():
        words = words_by_locale.get(locale)
        if words is None:
            if locale in catalogs.complete_locales():
                problems.append(
                    Problem(
                        "messages",
                        1,
                        1,
                        f"locale '{locale}'",
                        f"there is no messages/discreet_words.{locale}.yaml",
                        "Each complete locale lists the words a lock screen must not show.",
                    )
                )
            words = BannedTerms()
        lead = entries.get(LEAD) or catalogs.get(LEAD, locale)
        if lead is None:
            problems.append(
                Problem(
                    "messages",
                    1,
                    1,
                    f"locale '{locale}'",
                    f"there is no '{LEAD}', the line discreet messages start with",
                    f"Add it to messages/{locale}/privacy.yaml.",
                )
            )
        for entry in entries.values():
            if entry.discreet is not None:
                problems += _line_problems(entry, entry.discreet, "its discreet line", words)
            elif entry.id in (LEAD, SUBJECT):
                problems += _line_problems(entry, entry.base.text, "it", words)
    return problems


def _line_problems(entry: Entry, line: str, what: str, words: BannedTerms) -> list[Problem]:
    where = f"message '{entry.id}'"
    out: list[Problem] = []
    try:
        named = [n for n in placeholders_in(line) if n in NAMING]
    except ValueError:
        named = []  # the message's own check reports broken braces
    if named:
        out.append(
            Problem(
                entry.file,
                entry.line,
                entry.col,
                where,
                f"{what} uses {{{named[0]}}}: a lock screen would show who or what it is about",
                "A discreet line names only the family member ({name}) or no one.",
            )
        )
    found = words.find(strip_accents(line))
    if found:
        out.append(
            Problem(
                entry.file,
                entry.line,
                entry.col,
                where,
                f"{what} says '{found.word}', which a lock screen must not show",
                "Keep it plain, like 'Hi {name}, a note for you.' "
                f"The list is messages/discreet_words.{entry.locale}.yaml.",
            )
        )
    return out
