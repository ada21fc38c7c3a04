"""Loading message catalogs from messages/<locale>/*.yaml, keeping each entry's file and line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.catalog.locales import LocaleRules, load_locales
from bot.catalog.segments import plain_sms
from bot.problems import Problem
from bot.yaml_source import did_you_mean, key_position, read_yaml, type_name, value_position

RELATIONSHIPS = ("parent", "partner", "sibling", "child", "friend", "other")
KNOWABLE_FIELDS = ("rewards", "loved_one", "name", "pause_end", "lesson_time")
FORM_KEYS = ("text", "sms", "long")
ENTRY_KEYS = (*FORM_KEYS, "source", "for", "when_known", "max_segments", "discreet")
DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Forms:
    """The words of one variant: a default text, and optional SMS and long forms."""

    text: str
    sms: str | None = None
    long: str | None = None
    # Where each form's words start in the file ("text" -> (line, col)), for pointing at problems.
    at: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    def for_channel(self, channel: str) -> str:
        if channel == "sms":
            return self.sms or self.text
        return self.long or self.text

    def all_forms(self) -> dict[str, str]:
        return {k: v for k, v in (("text", self.text), ("sms", self.sms), ("long", self.long)) if v}


@dataclass(frozen=True)
class Entry:
    id: str
    locale: str
    file: str
    line: int
    col: int
    base: Forms
    by_relationship: Mapping[str, Forms] = field(default_factory=dict)
    when_known: Mapping[str, Forms] = field(default_factory=dict)
    source: str | None = None
    max_segments: int = 2
    # The neutral first line this message starts with in discreet mode (docs/privacy.md); None:
    # the locale's discreet.lead.
    discreet: str | None = None

    def variants(self) -> dict[str, Forms]:
        """Every variant by a readable name: 'base', 'for partner', 'when rewards known'."""
        out = {"base": self.base}
        out.update({f"for {k}": v for k, v in self.by_relationship.items()})
        out.update({f"when {k} known": v for k, v in self.when_known.items()})
        return out

    def choose(self, relationship: str | None, known: Mapping[str, str]) -> Forms:
        for field_name, forms in self.when_known.items():
            if known.get(field_name):
                return forms
        if relationship and relationship in self.by_relationship:
            return self.by_relationship[relationship]
        return self.base


@dataclass(frozen=True)
class Catalogs:
    """Every locale's messages. Lookups fall back to the default locale."""

    locales: Mapping[str, Mapping[str, Entry]]
    default_locale: str = DEFAULT_LOCALE
    # Locales with a file that is not valid YAML, and (locale, id) of entries too broken to load:
    # already reported, so a flow using such an id is not also told the id is missing.
    unreadable: frozenset[str] = frozenset()
    broken: frozenset[tuple[str, str]] = frozenset()
    rules: Mapping[str, LocaleRules] = field(default_factory=dict)  # messages/locales.yaml

    def complete_locales(self) -> tuple[str, ...]:
        complete = tuple(k for k, r in self.rules.items() if r.complete)
        return complete or (self.default_locale,)

    def sms_text(self, text: str, locale: str) -> str:
        """The words an SMS carries: the locale's `sms_plain` letters go where keeping them would
        cost a segment (messages/locales.yaml); elsewhere every accent stays."""
        rule = self.rules.get(locale)
        return plain_sms(text, rule.sms_plain) if rule and rule.sms_plain else text

    def may_have(self, message_id: str, locale: str) -> bool:
        return (
            message_id in self.locales.get(locale, {})
            or locale in self.unreadable
            or (locale, message_id) in self.broken
        )

    def get(self, message_id: str, locale: str) -> Entry | None:
        entry = self.locales.get(locale, {}).get(message_id)
        return entry or self.locales.get(self.default_locale, {}).get(message_id)

    def ids(self, locale: str | None = None) -> list[str]:
        """Ids in file order (the order pools rotate in)."""
        return list(self.locales.get(locale or self.default_locale, {}))

    def pool(self, prefix: str) -> tuple[str, ...]:
        """'reward' -> every 'reward.*' id of the default locale, in file order."""
        return tuple(i for i in self.ids() if i.startswith(prefix + "."))


def load_catalogs(messages_dir: Path) -> tuple[Catalogs, list[Problem]]:
    """Read every messages/<locale>/*.yaml (not understanding/); report all problems."""
    problems: list[Problem] = []
    locales: dict[str, dict[str, Entry]] = {}
    if not messages_dir.is_dir():
        problems.append(Problem(str(messages_dir), 1, 1, "", "the messages folder does not exist"))
        return Catalogs({}), problems
    unreadable: set[str] = set()
    broken: set[tuple[str, str]] = set()
    rules, rule_problems = load_locales(messages_dir)
    problems += rule_problems
    for locale_dir in sorted(p for p in messages_dir.iterdir() if p.is_dir()):
        entries: dict[str, Entry] = {}
        for path in sorted(locale_dir.glob("*.yaml")):
            if not _load_file(path, locale_dir.name, entries, problems, broken):
                unreadable.add(locale_dir.name)
        locales[locale_dir.name] = entries
    catalogs = Catalogs(
        locales, unreadable=frozenset(unreadable), broken=frozenset(broken), rules=rules
    )
    return catalogs, problems


def _load_file(
    path: Path,
    locale: str,
    entries: dict[str, Entry],
    problems: list[Problem],
    broken: set[tuple[str, str]],
) -> bool:
    """Add the file's entries; False when it is not valid YAML at all."""
    data, syntax = read_yaml(path)
    problems.extend(syntax)
    if syntax:
        return False
    if data is None:
        return True
    name = str(path)
    if not isinstance(data, Mapping):
        problems.append(
            Problem(
                name,
                1,
                1,
                "",
                f"a message file must be a mapping of message id to text, found {type_name(data)}",
            )
        )
        return False
    for message_id, raw in data.items():
        line, col = key_position(data, message_id)
        where = f"message '{message_id}'"
        if message_id in entries:
            first = entries[message_id]
            problems.append(
                Problem(
                    name,
                    line,
                    col,
                    where,
                    f"this id is already defined at {first.file}:{first.line}",
                    "Each message id must be unique in a locale.",
                )
            )
            continue
        entry = _parse_entry(str(message_id), raw, locale, name, data, problems)
        if entry:
            entries[str(message_id)] = entry
        else:
            broken.add((locale, str(message_id)))
    return True


def _parse_forms(
    raw: Any,
    name: str,
    node: Any,
    key: Any,
    where: str,
    problems: list[Problem],
    allowed: tuple[str, ...] = FORM_KEYS,
) -> Forms | None:
    line, col = key_position(node, key)
    if isinstance(raw, str):
        return Forms(text=raw, at={"text": value_position(node, key)})
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                name,
                line,
                col,
                where,
                f"expected text or a mapping with 'text', found {type_name(raw)}",
            )
        )
        return None
    for k in raw:
        if k not in allowed:
            kl, kc = key_position(raw, k)
            problems.append(
                Problem(
                    name,
                    kl,
                    kc,
                    where,
                    f"'{k}' is not a key a message can have (known: {', '.join(allowed)})",
                    did_you_mean(k, allowed),
                )
            )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(name, line, col, where, "every message needs a non-empty 'text'"))
        return None
    sms, long = raw.get("sms"), raw.get("long")
    for label, value in (("sms", sms), ("long", long)):
        if value is not None and not isinstance(value, str):
            problems.append(
                Problem(name, line, col, where, f"'{label}' must be text, found {type_name(value)}")
            )
    return Forms(
        text=text.strip(),
        sms=sms.strip() if isinstance(sms, str) else None,
        long=long.strip() if isinstance(long, str) else None,
        at={k: value_position(raw, k) for k in FORM_KEYS if k in raw},
    )


def _parse_entry(
    message_id: str, raw: Any, locale: str, name: str, parent: Any, problems: list[Problem]
) -> Entry | None:
    where = f"message '{message_id}'"
    line, col = key_position(parent, message_id)
    base = _parse_forms(raw, name, parent, message_id, where, problems, ENTRY_KEYS)
    if base is None:
        return None
    if isinstance(raw, str):
        return Entry(message_id, locale, name, line, col, base)
    by_rel = _variants(raw, "for", RELATIONSHIPS, "a relationship", "for {}", name, where, problems)
    known = _variants(
        raw,
        "when_known",
        KNOWABLE_FIELDS,
        "a profile field a variant can depend on",
        "when {} known",
        name,
        where,
        problems,
    )
    max_segments = raw.get("max_segments", 2)
    if not isinstance(max_segments, int) or max_segments < 1:
        problems.append(
            Problem(
                name,
                line,
                col,
                where,
                f"max_segments must be a whole number of 1 or more, found {max_segments!r}",
            )
        )
        max_segments = 2
    source = raw.get("source")
    discreet = raw.get("discreet")
    if discreet is not None and not (isinstance(discreet, str) and discreet.strip()):
        problems.append(
            Problem(
                name, line, col, where, f"'discreet' must be one line of text, found {discreet!r}"
            )
        )
        discreet = None
    return Entry(
        message_id,
        locale,
        name,
        line,
        col,
        base,
        by_rel,
        known,
        str(source) if source is not None else None,
        max_segments,
        " ".join(discreet.split()) if isinstance(discreet, str) else None,
    )


def _variants(
    raw: Mapping[str, Any],
    key: str,
    allowed: tuple[str, ...],
    what: str,
    label: str,
    name: str,
    where: str,
    problems: list[Problem],
) -> dict[str, Forms]:
    """The `for:` or `when_known:` variants of one message, each checked like the message itself."""
    out: dict[str, Forms] = {}
    section = raw.get(key) or {}
    for variant, forms_raw in section.items():
        if variant not in allowed:
            line, col = key_position(section, variant)
            problems.append(
                Problem(
                    name,
                    line,
                    col,
                    where,
                    f"'{variant}' is not {what} (known: {', '.join(allowed)})",
                    did_you_mean(variant, allowed),
                )
            )
            continue
        forms = _parse_forms(
            forms_raw, name, section, variant, f"{where}, {label.format(variant)}", problems
        )
        if forms:
            out[variant] = forms
    return out
