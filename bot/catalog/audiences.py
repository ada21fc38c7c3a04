"""Who a message fits: words per relationship, defaults that assume a shared home.

A default `text` is what every family reads unless a `for:` variant exists for their
relationship, so it must not assume that the family member lives with their loved one: a sister
or a friend across town cannot "eat together, phones down" tonight. The phrases that give such an
assumption away are data (messages/shared_home_phrases.yaml, per locale), so a coach can add one
when they notice it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.catalog.catalog import RELATIONSHIPS, Catalogs, Entry
from bot.catalog.render import CONTEXT_PLACEHOLDERS, placeholders_in
from bot.problems import Problem
from bot.yaml_source import read_yaml

SHARED_HOME_FILE = "shared_home_phrases.yaml"


@dataclass(frozen=True)
class Coverage:
    """How many messages a relationship reads in its own words, and how many use the default."""

    relationship: str
    own: int
    default: int


def load_shared_home_phrases(path: Path) -> tuple[dict[str, list[str]], list[Problem]]:
    """`{locale: [phrase, ...]}`; a missing file means no phrases, not an error."""
    if not path.exists():
        return {}, []
    data, problems = read_yaml(path)
    if problems:
        return {}, problems
    if not isinstance(data, Mapping) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in data.values()
    ):
        hint = "For example:\nen:\n  - eat together\n  - before bed"
        return {}, [Problem(str(path), 1, 1, "", "expected a list of phrases per locale", hint)]
    return {str(k): [p.strip() for p in v if p.strip()] for k, v in data.items()}, []


def coverage(catalogs: Catalogs, locale: str) -> list[Coverage]:
    entries = catalogs.locales.get(locale, {}).values()
    out = []
    for relationship in RELATIONSHIPS:
        own = sum(1 for e in entries if relationship in e.by_relationship)
        out.append(Coverage(relationship, own, len(entries) - own))
    return out


def shared_home_defaults(catalogs: Catalogs, phrases: Mapping[str, Iterable[str]]) -> list[Problem]:
    """Every default form (text, sms, long) that says a phrase assuming a shared home."""
    problems: list[Problem] = []
    for locale, entries in catalogs.locales.items():
        pattern = _phrase_pattern(phrases.get(locale, ()))
        if pattern is None:
            continue
        for entry in entries.values():
            problems.extend(_flag_default(entry, pattern))
    return problems


def misplaced_context_placeholders(catalogs: Catalogs) -> list[Problem]:
    """The weekly summary's numbers ({use_days} ...) exist only when a summary is being written."""
    problems: list[Problem] = []
    for entries in catalogs.locales.values():
        for entry in entries.values():
            if entry.id.startswith("summary."):
                continue
            for variant, forms in entry.variants().items():
                for form, text in forms.all_forms().items():
                    try:
                        used = set(placeholders_in(text)) & set(CONTEXT_PLACEHOLDERS)
                    except ValueError:
                        continue  # a broken placeholder is reported by the catalog checks
                    for name in sorted(used):
                        line, col = forms.at.get(form, (entry.line, entry.col))
                        where = f"message '{entry.id}'" + (
                            "" if variant == "base" else f", {variant}"
                        )
                        problems.append(
                            Problem(
                                entry.file,
                                line,
                                col,
                                where,
                                f"the {form} form uses {{{name}}}, which only a summary knows",
                                "Use it in a summary.* message only.",
                            )
                        )
    return problems


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({p.lower() for p in phrases if p}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    return re.compile(rf"(?<![\w'])({alternatives})(?![\w'])", re.IGNORECASE)


def _flag_default(entry: Entry, pattern: re.Pattern[str]) -> list[Problem]:
    problems = []
    for form, text in entry.base.all_forms().items():
        found = pattern.search(text)
        if found:
            line, col = entry.base.at.get(form, (entry.line, entry.col))
            phrase = " ".join(found.group(0).split())
            problems.append(
                Problem(
                    entry.file,
                    line,
                    col,
                    f"message '{entry.id}'",
                    f"the default {form} says '{phrase}', which assumes the family member lives "
                    "with their loved one",
                    "Word the default so it fits someone who lives apart, and put the at-home "
                    "example in `for:` variants (parent, partner, ...).",
                )
            )
    return problems
