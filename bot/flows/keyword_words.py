"""The words of a keyword (or of `join: greetings:`), as a list or per language.

    words: [STOP, /stop]                          # one list: English, and /commands of none
    words: {en: [STOP, QUIT], es: [PARAR, ALTO], any: [/stop]}

A word listed under a language is that language's: "hola" says a newcomer writes Spanish, and
`craftbot flows validate` checks that every complete locale can STOP, START and ask for HELP in
its own words. Matching ignores case and accents ("LECCIÓN" is "leccion"), so each word is listed
once, in its proper spelling: two spellings of one word are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows.file_reader import FileReader
from bot.understanding.text import normalize
from bot.yaml_source import type_name

ANY = "any"  # words of no language: Telegram commands such as /stop
DEFAULT = "en"  # whose words a plain list holds (besides its /commands)


def read_words(
    spec: Mapping[str, Any], key: str, where: str, r: FileReader
) -> dict[str, tuple[str, ...]] | None:
    """{language or "any": normalised words}, or None (reported) when `key` is not words."""
    raw = spec.get(key)
    groups: Any = raw
    if isinstance(raw, list):  # one list: the default locale's words, and commands of none
        commands = [w for w in raw if str(w).strip().startswith("/")]
        groups = {DEFAULT: [w for w in raw if w not in commands], ANY: commands}
    if not isinstance(groups, Mapping) or not groups:
        r.error(
            spec,
            key,
            where,
            f"'{key}' must be a list of words, or a list per language (en: [...], es: [...]); "
            f"found {type_name(raw)}",
            value=True,
        )
        return None
    out: dict[str, tuple[str, ...]] = {}
    spelled: dict[str, str] = {}  # normalised word -> the first spelling written
    for language, words in groups.items():
        node = raw if isinstance(raw, list) else groups
        if not isinstance(words, list) or not all(isinstance(w, (str, int)) for w in words):
            r.error(node, language, where, f"the words under '{language}' must be a list")
            continue
        for word in map(str, words):
            plain = normalize(word)
            first = spelled.setdefault(_same_word(word, plain), word)
            if first != word:
                r.error(
                    spec,
                    key,
                    where,
                    f"'{first}' and '{word}' are the same word once case and accents are "
                    "ignored, and both are listed",
                    f"List it once, spelled properly ('{first}'): matching ignores accents.",
                    value=True,
                )
        out[str(language)] = tuple(dict.fromkeys(normalize(str(w)) for w in words if str(w)))
    return out


def _same_word(word: str, plain: str) -> str:
    # "/stop" and "STOP" are one word to the matcher but two things to write (a Telegram command
    # and a text reply); "LECCIÓN" and "LECCION" are one word written twice.
    return ("/" if word.strip().startswith("/") else "") + plain


def flatten(by_language: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for words in by_language.values() for w in words))
