"""Text normalisation shared by every matcher: case, accents, punctuation, elisions, repeats."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_NON_WORD = re.compile(r"[^a-z0-9'\s]+")
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([a-z])\1{2,}")  # "sooooo" -> "soo"


def strip_accents(text: str) -> str:
    """'está' -> 'esta'; 'ñ' survives as 'n' so Spanish matches typed without accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced text.

    "He's NOT breathing!!" -> "he's not breathing"; "¿Está bien?" -> "esta bien";
    "nooooo" -> "noo". Apostrophes are kept so that contractions stay one token.
    """
    text = strip_accents(text.translate(_APOSTROPHES).casefold())
    text = _NON_WORD.sub(" ", text)
    text = text.replace(" '", " ").replace("' ", " ")
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip(" '")


def tokens(text: str) -> list[str]:
    """Normalised words: "Didn't use, thank God." -> ["didn't", "use", "thank", "god"]."""
    norm = normalize(text)
    return norm.split(" ") if norm else []
