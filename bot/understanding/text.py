"""Text normalisation shared by every reader: case, accents, apostrophes, repeats, emoji, clauses.

Two layers. `normalize`/`tokens` are the plain, language-free tidy-up that simple answers and
keywords use. `split` cuts a message into words that remember their sentence and clause, which the
understanding engine keys with each language's spellings and emoji (see language.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_NON_WORD = re.compile(r"[^a-z0-9'\s]+")
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([a-z])\1{2,}")  # "sooooo" -> "soo"
# Emoji glue that carries no meaning of its own: variation selectors, keycap, skin tones, joiner.
_EMOJI_GLUE = re.compile("[\ufe0e\ufe0f\u20e3\u200d\U0001f3fb-\U0001f3ff]")
# A word (letters, digits, apostrophes inside), a sentence end, a clause mark, or anything else.
_PIECES = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.!?;\n\u2026]+|[,:()\"]|\s[-\u2013\u2014~]+\s|\S")
_SENTENCE_END = re.compile(r"^[.!?;\n\u2026]+$")
_CLAUSE_MARK = re.compile(r"^(?:[,:()\"]|\s[-\u2013\u2014~]+\s)$")
_MIXED = re.compile(r"^(\d+)([a-z]+)$")  # "6yo" -> "6", "yo"; "2am" -> "2", "am"


def strip_accents(text: str) -> str:
    """'está' -> 'esta'; 'ñ' survives as 'n' so Spanish matches typed without accents."""
    if text.isascii():
        return text  # nothing to decompose
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced text.

    "He's NOT breathing!!" -> "he's not breathing"; "¿Está bien?" -> "esta bien";
    "nooooo" -> "noo". Apostrophes are kept so that contractions stay one token.
    """
    text = strip_accents(_EMOJI_GLUE.sub("", text.translate(_APOSTROPHES)).casefold())
    text = _NON_WORD.sub(" ", text)
    text = text.replace(" '", " ").replace("' ", " ")
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip(" '")


def tokens(text: str) -> list[str]:
    """Normalised words: "Didn't use, thank God." -> ["didn't", "use", "thank", "god"]."""
    norm = normalize(text)
    return norm.split(" ") if norm else []


@dataclass(frozen=True)
class Word:
    """One word of a message, as typed and tidied, with where it stands."""

    typed: str  # as written, case kept ("ODd", "didn't"): the spelling table may want the case
    plain: str  # lower case, no accents or apostrophes, runs of 3+ letters cut to 2 ("didnt")
    sentence: int  # index of its sentence (. ! ? ; and line breaks end one)
    clause: int  # index of its clause (commas, colons, brackets and dashes also end one)
    emoji: bool = False  # the word is an emoji (its meaning comes from the language's emoji table)


def plain(word: str) -> str:
    """A word as lexicons write it: "Didn't" -> "didnt"; "Está" -> "esta"; "sooo" -> "soo"."""
    return _REPEATS.sub(
        r"\1\1", strip_accents(word.translate(_APOSTROPHES)).casefold().replace("'", "")
    )


def split(text: str) -> tuple[Word, ...]:
    """Words with their sentence and clause: "ok. he's not breathing, help" -> 5 words, 2 sentences.

    Emoji are kept as one-character words for the language's emoji table; other symbols are dropped.
    "1️⃣" is read as "1"; "6yo" as "6 yo"; accents are removed and apostrophes made plain.
    """
    text = _EMOJI_GLUE.sub("", text.translate(_APOSTROPHES))
    words: list[Word] = []
    sentence = clause = 0
    for piece in _PIECES.findall(text):
        if _SENTENCE_END.match(piece):
            if words and words[-1].sentence == sentence:
                sentence, clause = sentence + 1, clause + 1
            continue
        if _CLAUSE_MARK.match(piece):
            if words and words[-1].clause == clause:
                clause += 1
            continue
        if piece[0].isalnum():
            typed = strip_accents(piece)
            plain = _REPEATS.sub(r"\1\1", typed.casefold().replace("'", ""))
            mixed = _MIXED.match(plain)
            if mixed and not plain.endswith(("st", "nd", "rd", "th")):
                words.append(Word(mixed.group(1), mixed.group(1), sentence, clause))
                words.append(Word(mixed.group(2), mixed.group(2), sentence, clause))
            else:
                words.append(Word(typed, plain, sentence, clause))
        elif not piece.isspace() and unicodedata.category(piece[0]) == "So":
            words.append(Word(piece, piece, sentence, clause, emoji=True))
    return tuple(words)
