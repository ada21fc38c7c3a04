"""Checks on every message a family could see: placeholders, SMS length, and stigmatizing words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.catalog.catalog import Catalogs, Entry, Forms
from bot.catalog.render import PLACEHOLDERS, placeholders_in
from bot.catalog.segments import count_segments, non_gsm_characters
from bot.problems import Problem
from bot.yaml_source import did_you_mean, read_yaml

LONG_LIMIT = 900


def load_banned_terms(path: Path) -> tuple[list[str], list[Problem]]:
    data, problems = read_yaml(path)
    if problems:
        return [], problems
    terms = data.get("banned") if isinstance(data, dict) else None
    if not isinstance(terms, list):
        return [], [Problem(str(path), 1, 1, "", "expected `banned:` with a list of words")]
    return [str(t) for t in terms], []


def check_catalogs(catalogs: Catalogs, banned: Iterable[str]) -> list[Problem]:
    pattern = _banned_pattern(banned)
    problems: list[Problem] = []
    for entries in catalogs.locales.values():
        for entry in entries.values():
            for variant, forms in entry.variants().items():
                problems.extend(_check_forms(entry, variant, forms, pattern))
    return problems


def _banned_pattern(banned: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({b.strip().lower() for b in banned if b.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(
        r"(?<![\w'])(" + "|".join(re.escape(w) for w in words) + r")(?![\w'])", re.IGNORECASE
    )


def _check_forms(
    entry: Entry, variant: str, forms: Forms, banned: re.Pattern[str] | None
) -> list[Problem]:
    out: list[Problem] = []
    where = f"message '{entry.id}'" + ("" if variant == "base" else f", {variant}")

    def problem(form: str, message: str, hint: str = "") -> None:
        line, col = forms.at.get(form, (entry.line, entry.col))
        out.append(Problem(entry.file, line, col, where, message, hint))

    for form, text in forms.all_forms().items():
        try:
            names = placeholders_in(text)
        except ValueError as exc:
            problem(
                form,
                f"the {form} form has a broken placeholder ({exc})",
                "Placeholders look like {name}; a literal brace is written {{ or }}.",
            )
            continue
        for name in names:
            if name not in PLACEHOLDERS:
                problem(
                    form,
                    f"the {form} form uses {{{name}}}, which is not a placeholder (known: {', '.join(PLACEHOLDERS)})",
                    did_you_mean(name, PLACEHOLDERS),
                )
            elif name == "rewards" and variant != "when rewards known":
                problem(
                    form,
                    "{rewards} may only be used in a `when_known: rewards` variant, where it is known",
                )
        found = banned.search(text) if banned else None
        if found:
            problem(
                form,
                f"the {form} form says '{found.group(0)}', a stigmatizing word",
                "See messages/banned_terms.yaml for what to say instead.",
            )
        if form == "long" and len(text) > LONG_LIMIT:
            problem(form, f"the long form is {len(text)} characters; keep it under {LONG_LIMIT}")
    sms = forms.sms or forms.text
    encoding, segments = count_segments(_worst_case(sms))
    if segments > entry.max_segments:
        extra = non_gsm_characters(sms)
        hint = f" These characters force UCS-2: {' '.join(extra)}." if extra else ""
        problem(
            "sms" if forms.sms else "text",
            f"the SMS form takes {segments} {encoding} segments with a long name filled in; the limit is {entry.max_segments}",
            ("Shorten it, add a shorter `sms:` form, or set `max_segments:`." + hint).strip(),
        )
    return out


def _worst_case(text: str) -> str:
    """Fill placeholders with long-ish values so the budget holds for real names too."""
    sample = {
        "name": "Alexandra",
        "loved_one": "your partner",
        "Loved_one": "Your partner",
        "rewards": "fishing, pizza night and old movies",
        "org": "Family Support Center",
        "org_contact": "call 555-0100",
        "lesson_time": "12:30",
        "checkin_time": "19:30",
    }
    try:
        return text.format_map(sample)
    except (KeyError, ValueError, IndexError):
        return text
