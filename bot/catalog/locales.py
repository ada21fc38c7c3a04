"""messages/locales.yaml: which locales ship complete, how each writes SMS, what each still lacks.

A complete locale has every message the default one has (and no other), so a family never meets
a message in another language; the few ids written but not yet translated are listed under
`pending:` with the reason, and the list can only shrink (a listed id that now exists, or that
the default locale no longer has, is reported as stale). An entry may name a family of ids with
`*` ("*.GB": every Great Britain version), stale once every id it names exists or none does.

`sms_plain:` names letters an SMS may drop when keeping them would cost an extra segment: one
á, í, ó or ú switches a whole SMS from GSM-7 (153 characters a segment) to UCS-2 (67), so a
Spanish lesson that fits two GSM-7 segments would take five.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from bot.problems import Problem
from bot.yaml_source import key_position, read_yaml

LOCALES_FILE = "locales.yaml"
LOCALE_KEYS = ("complete", "sms_plain", "pending")
FORMAT_HINT = "For example:\nes:\n  complete: true\n  sms_plain: {á: a, í: i}\n  pending: {}"


@dataclass(frozen=True)
class LocaleRules:
    complete: bool = False
    sms_plain: Mapping[str, str] = field(default_factory=dict)  # "á" -> "a"
    # message id (or a pattern of ids: "*.GB") -> why it is missing
    pending: Mapping[str, str] = field(default_factory=dict)

    def why_pending(self, message_id: str) -> str | None:
        """The reason `message_id` may be missing, from its own entry or a pattern naming it."""
        if message_id in self.pending:
            return self.pending[message_id]
        return next((why for p, why in self.pending.items() if _names(p, message_id)), None)

    def named(self, pattern: str, ids: Iterable[str]) -> list[str]:
        """The ids of `ids` one pending entry names."""
        return [i for i in ids if _names(pattern, i)]


def _names(pattern: str, message_id: str) -> bool:
    return pattern == message_id or ("*" in pattern and fnmatchcase(message_id, pattern))


def load_locales(messages_dir: Path) -> tuple[dict[str, LocaleRules], list[Problem]]:
    """Every locale's rules; without the file, English alone is complete."""
    path = messages_dir / LOCALES_FILE
    if not path.exists():
        return {"en": LocaleRules(complete=True)}, []
    data, problems = read_yaml(path)
    if problems:
        return {"en": LocaleRules(complete=True)}, problems
    name = str(path)
    if not isinstance(data, Mapping):
        message = "expected a mapping of locale to its rules"
        return {"en": LocaleRules(complete=True)}, [Problem(name, 1, 1, "", message, FORMAT_HINT)]
    out: dict[str, LocaleRules] = {}
    for locale, raw in data.items():
        line, col = key_position(data, locale)
        where = f"locale '{locale}'"
        if not isinstance(raw, Mapping):
            problems.append(Problem(name, line, col, where, "expected its rules", FORMAT_HINT))
            continue
        for key in raw:
            if key not in LOCALE_KEYS:
                kl, kc = key_position(raw, key)
                known = ", ".join(LOCALE_KEYS)
                problems.append(Problem(name, kl, kc, where, f"'{key}' is not a rule ({known})"))
        plain = _text_map(raw.get("sms_plain"), name, raw, "sms_plain", where, problems)
        pending = _text_map(raw.get("pending"), name, raw, "pending", where, problems)
        for letter, replacement in plain.items():
            if len(letter) != 1:
                kl, kc = key_position(raw, "sms_plain")
                problems.append(
                    Problem(name, kl, kc, where, f"sms_plain maps one letter, not '{letter}'")
                )
            if replacement == letter:
                kl, kc = key_position(raw, "sms_plain")
                problems.append(
                    Problem(name, kl, kc, where, f"sms_plain maps '{letter}' to itself")
                )
        out[str(locale)] = LocaleRules(bool(raw.get("complete")), plain, pending)
    return out, problems


def _text_map(
    value: Any, name: str, node: Any, key: str, where: str, problems: list[Problem]
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        line, col = key_position(node, key)
        problems.append(Problem(name, line, col, where, f"{key} must be a mapping", FORMAT_HINT))
        return {}
    return {str(k): str(v) for k, v in value.items()}


def locale_gaps(
    ids: Mapping[str, list[str]], rules: Mapping[str, LocaleRules], default: str, file: str
) -> list[Problem]:
    """Ids one complete locale has and another lacks, beyond what `pending:` explains.

    `ids` is every locale's message ids (Catalogs.ids per locale). Each complete locale is
    compared with the default one, both ways.
    """
    problems: list[Problem] = []
    base = set(ids.get(default, []))
    for locale, rule in sorted(rules.items()):
        if not rule.complete or locale == default:
            continue
        have = set(ids.get(locale, []))
        for message_id in sorted(i for i in base - have if rule.why_pending(i) is None):
            problems.append(
                Problem(
                    file,
                    1,
                    1,
                    f"locale '{locale}'",
                    f"message '{message_id}' is in messages/{default}/ but not in "
                    f"messages/{locale}/, so a family reading {locale} would get it in {default}",
                    f"Translate it into messages/{locale}/, or list it under `pending:` with why.",
                )
            )
        for message_id in sorted(have - base):
            problems.append(
                Problem(
                    file,
                    1,
                    1,
                    f"locale '{locale}'",
                    f"message '{message_id}' is in messages/{locale}/ but not in "
                    f"messages/{default}/, where every message starts",
                    f"Add it to messages/{default}/ too, or remove it from messages/{locale}/.",
                )
            )
        for message_id in sorted(rule.pending):
            named = rule.named(message_id, base)
            if named and all(i in have for i in named):
                why = "it is translated now: take it off the list"
            elif not named:
                why = f"messages/{default}/ has no such message"
            else:
                continue
            problems.append(
                Problem(file, 1, 1, f"locale '{locale}'", f"pending '{message_id}': {why}")
            )
    return problems
