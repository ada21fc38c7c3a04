"""STOP, START and HELP in every complete locale's own words, and keyword languages that exist.

bot/flows/required_keywords.py makes sure the carriers' English words work. A family that reads
Spanish writes PARAR or AYUDA, so each complete locale (messages/locales.yaml) must have words of
its own that start the same flows as STOP, START and HELP. A language named in keywords.yaml
that has no messages/<locale>/ folder is a typo ("sp:" for "es:") and is refused too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.flows.keyword_words import ANY
from bot.flows.model import Routing
from bot.flows.required_keywords import REQUIRED
from bot.problems import Problem
from bot.understanding.text import normalize


def check_locale_keywords(
    routing: Routing,
    complete: Collection[str],
    known: Collection[str],
    file: str,
    positions: Mapping[str, tuple[int, int]],
) -> list[Problem]:
    problems: list[Problem] = []
    top = positions.get("keywords", (1, 1))
    for keyword in routing.keywords:
        for language in keyword.by_language:
            if language != ANY and language not in known:
                problems.append(
                    Problem(
                        file,
                        *positions.get(f"keyword.{keyword.name}", top),
                        f"keyword '{keyword.name}'",
                        f"words are listed under '{language}', which is not a locale "
                        f"(messages/ has {', '.join(sorted(known))})",
                        f"Use a locale's folder name, or '{ANY}' for words of no language.",
                    )
                )
    for language in routing.greetings:
        if language != ANY and language not in known:
            problems.append(
                Problem(
                    file,
                    *positions.get("join", top),
                    "join",
                    f"greetings are listed under '{language}', which is not a locale",
                )
            )
    by_word = {w: k for k in routing.keywords for w in k.words}
    for req in REQUIRED:
        first = next((normalize(w) for w in req.words["sms"] if normalize(w) in by_word), None)
        if first is None:
            continue  # no keyword answers the English words: required_keywords reports it
        flow = by_word[first].flow
        same = [k for k in routing.keywords if k.flow == flow]
        for locale in sorted(complete):
            if any(k.by_language.get(locale) for k in same):
                continue
            problems.append(
                Problem(
                    file,
                    *positions.get(f"keyword.{by_word[first].name}", top),
                    f"keyword '{by_word[first].name}'",
                    f"no words under '{locale}' start flow '{flow}', so a family reading "
                    f"{locale} could not say {req.name} in their own words",
                    f"List them in its words, under {locale}: (words: {{{locale}: [...]}}).",
                )
            )
    return problems
