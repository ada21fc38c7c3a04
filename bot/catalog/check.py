"""Checks on every message a family could see: placeholders, SMS length, and stigmatizing words."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from bot.catalog.banned_terms import BannedTerms
from bot.catalog.banned_terms import load_banned_terms as load_banned_terms  # its old home
from bot.catalog.catalog import Catalogs, Entry, Forms
from bot.catalog.form_rules import placeholder_findings, sms_findings
from bot.catalog.render import (
    ONLY_WHEN_KNOWN,
    PLACEHOLDERS,
    longest_country_words,
    placeholders_in,
)
from bot.catalog.segments import count_segments, non_gsm_characters
from bot.problems import Problem
from bot.understanding.text import strip_accents
from bot.yaml_source import did_you_mean

LONG_LIMIT = 900


def check_catalogs(
    catalogs: Catalogs,
    banned: BannedTerms | Iterable[str] = (),
    banned_by_locale: Mapping[str, BannedTerms] | None = None,
) -> list[Problem]:
    """Every form of every message; `banned` applies to every locale, `banned_by_locale` to its
    own (messages/banned_terms.<locale>.yaml, matched with accents ignored)."""
    terms = banned if isinstance(banned, BannedTerms) else BannedTerms.of_words(banned)
    problems: list[Problem] = []
    for locale, entries in catalogs.locales.items():
        local = (banned_by_locale or {}).get(locale)
        fill = _sample(catalogs, locale)

        def sms(text: str, locale: str = locale, fill: Mapping[str, str] = fill) -> str:
            return catalogs.sms_text(_worst_case(text, fill), locale)

        for entry in entries.values():
            for variant, forms in entry.variants().items():
                problems.extend(_check_forms(entry, variant, forms, terms, sms))
                if local is not None:
                    problems.extend(_local_words(entry, variant, forms, local))
                problems.extend(_reading_problems(entry, variant, forms))
    return problems


def _local_words(entry: Entry, variant: str, forms: Forms, banned: BannedTerms) -> list[Problem]:
    where = f"message '{entry.id}'" + ("" if variant == "base" else f", {variant}")
    out = []
    for form, text in forms.all_forms().items():
        found = banned.find(strip_accents(text))
        if found:
            line, col = forms.at.get(form, (entry.line, entry.col))
            instead = f"Say instead: {found.term.instead}. " if found.term.instead else ""
            out.append(
                Problem(
                    entry.file,
                    line,
                    col,
                    where,
                    f"the {form} form says '{found.word}', a stigmatizing word",
                    f"{instead}The list is messages/banned_terms.{entry.locale}.yaml.",
                )
            )
    return out


def _reading_problems(entry: Entry, variant: str, forms: Forms) -> list[Problem]:
    """How each form reads once filled in and sent (bot/catalog/form_rules.py)."""
    where = f"message '{entry.id}'" + ("" if variant == "base" else f", {variant}")
    out: list[Problem] = []
    for form, text in forms.all_forms().items():
        line, col = forms.at.get(form, (entry.line, entry.col))
        for message, hint in placeholder_findings(text, entry.locale):
            out.append(Problem(entry.file, line, col, where, f"the {form} form: {message}", hint))
    sms_form = "sms" if forms.sms else "text"
    line, col = forms.at.get(sms_form, (entry.line, entry.col))
    for message, hint in sms_findings(forms.sms or forms.text):
        shown = (
            message if forms.sms else message.replace("the SMS form", "the text form (sent by SMS)")
        )
        out.append(Problem(entry.file, line, col, where, shown, hint))
    return out


def _check_forms(
    entry: Entry,
    variant: str,
    forms: Forms,
    banned: BannedTerms,
    as_sent: Callable[[str], str] = lambda text: _worst_case(text),
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
                    f"the {form} form uses {{{name}}}, which is not a placeholder (known: "
                    f"{', '.join(PLACEHOLDERS)})",
                    did_you_mean(name, PLACEHOLDERS),
                )
            elif name in ONLY_WHEN_KNOWN and variant != f"when {name} known":
                problem(
                    form,
                    f"{{{name}}} may only be used in a `when_known: {name}` variant, where it "
                    "is known",
                )
        found = banned.find(text)
        if found:
            instead = f"Say instead: {found.term.instead}." if found.term.instead else ""
            problem(
                form,
                f"the {form} form says '{found.word}', a stigmatizing word",
                f"{instead} The list is messages/banned_terms.yaml.".strip(),
            )
        if form == "long" and len(text) > LONG_LIMIT:
            problem(form, f"the long form is {len(text)} characters; keep it under {LONG_LIMIT}")
    sms = forms.sms or forms.text
    sent = as_sent(sms)
    encoding, segments = count_segments(sent)
    if segments > entry.max_segments:
        extra = non_gsm_characters(sent)
        hint = f" These characters force UCS-2: {' '.join(extra)}." if extra else ""
        problem(
            "sms" if forms.sms else "text",
            f"the SMS form takes {segments} {encoding} segments with a long name filled in; the "
            f"limit is {entry.max_segments}",
            ("Shorten it, add a shorter `sms:` form, or set `max_segments:`." + hint).strip(),
        )
    return out


def sms_as_sent(catalogs: Catalogs, entry: Entry, text: str) -> tuple[str, str]:
    """An SMS form as the check counts it: (with long-ish values filled in, then as sent: the
    locale's SMS letters left out where that saves a segment, messages/locales.yaml)."""
    filled = _worst_case(text, _sample(catalogs, entry.locale))
    return filled, catalogs.sms_text(filled, entry.locale)


def _sample(catalogs: Catalogs, locale: str) -> dict[str, str]:
    """The locale's longest way of naming a loved one without a name ("tu ser querido")."""
    phrases = [
        e.base.text
        for i, e in catalogs.locales.get(locale, {}).items()
        if i.startswith("relation.")
    ]
    country = longest_country_words(catalogs, locale)  # {emergency}: the longest counts
    if not phrases:
        return country
    loved = max(phrases, key=len)
    return {"loved_one": loved, "Loved_one": loved[:1].upper() + loved[1:], **country}


def _worst_case(text: str, fill: Mapping[str, str] | None = None) -> str:
    """Fill placeholders with long-ish values so the budget holds for real names too."""
    sample = {
        "name": "Alexandra",
        "loved_one": "your partner",
        "Loved_one": "Your partner",
        "rewards": "fishing, pizza night and old movies",
        "org": "Family Support Center",
        "org_contact": "call 555-0100",
        "answer_within": "within two working days",
        "lesson_time": "12:30",
        "checkin_time": "19:30",
        "pause_end": "Wednesday 30 September",
        **(fill or {}),
    }
    try:
        return text.format_map(sample)
    except (KeyError, ValueError, IndexError):
        return text
