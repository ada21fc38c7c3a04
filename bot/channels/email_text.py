"""Reduce an inbound email to what the family member typed: no quoted thread, no signature."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# A line that starts the quoted thread or the signature: everything from it on is not new text.
_CUT_LINE = re.compile(
    r"""^(?:
        -{2,}\s*(?:original\s+message|forwarded\s+message|mensaje\s+original)\s*-{2,}
      | _{8,}                                              # Outlook's rule above its header block
      | --\s*                                              # the "-- " signature delimiter
      | sent\s+from\s+my\s+\S+.*                           # Sent from my iPhone / iPad / Galaxy
      | sent\s+from\s+(?:outlook|yahoo\s+mail|mail\s+for\s+windows).*
      | get\s+outlook\s+for\s+\S+.*
      | enviado\s+desde\s+mi\s+\S+.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# "On <date>, <name> wrote:" and its translations; clients wrap it over two lines at times.
_ATTRIBUTION = re.compile(
    r"^(?:on|el|le|am|op)\s.{0,300}?(?:wrote|escribió|a\s+écrit|schrieb|schreef)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
# Outlook's header block: "From: ..." followed within a few lines by "Sent:" or "Date:".
_OUTLOOK_FROM = re.compile(r"^\*?(?:from|de|von)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\*?(?:sent|date|enviado|fecha|gesendet|to|para|an)\s*:\*?\s", re.IGNORECASE
)


def _is_cut(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if _CUT_LINE.match(line):
        return True
    if _ATTRIBUTION.match(line):
        return True
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if line[:3].lower() in ("on ", "el ", "le ", "am ", "op ") and _ATTRIBUTION.match(
        f"{line} {nxt}"
    ):
        return True
    if _OUTLOOK_FROM.match(line):
        following = [s.strip() for s in lines[i + 1 : i + 4]]
        return any(_OUTLOOK_NEXT.match(s) for s in following)
    return False


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def strip_reply(text: str) -> str:
    """The new text of a reply: what comes before the quoted thread or the signature.

    Quoted lines (">") are dropped wherever they are. When nothing is left above the thread
    (someone answered below the quote), the unquoted lines after the attribution are kept.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = next((i for i in range(len(lines)) if _is_cut(lines, i)), len(lines))
    above = _tidy([line for line in lines[:cut] if not line.lstrip().startswith(">")])
    if above or cut == len(lines):
        return above
    # Bottom-posting: keep unquoted lines below, up to a signature or a further thread marker.
    below: list[str] = []
    rest = lines[cut + 1 :]
    for i, line in enumerate(rest):
        stripped = line.strip()
        if _CUT_LINE.match(stripped) or (i > 0 and _is_cut(rest, i)):
            break
        if not line.lstrip().startswith(">") and not _ATTRIBUTION.match(stripped):
            below.append(line)
    return _tidy(below)


class _TextExtractor(HTMLParser):
    """Collects visible text, with line breaks at block ends; skips quotes, styles and scripts."""

    _SKIP = frozenset({"style", "script", "head", "title", "blockquote"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_tag: str | None = None  # the element whose content we are skipping
        self._skip_depth = 0  # nesting of that same element, so unclosed <p> cannot confuse it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            self._skip_depth += tag == self._skip_tag
            return
        classes = dict(attrs).get("class") or ""
        # Gmail wraps the quoted thread in <div class="gmail_quote">: treat it like a blockquote.
        if tag in self._SKIP or (tag == "div" and "gmail_quote" in classes):
            self._skip_tag, self._skip_depth = tag, 1
            return
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None and tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_tag is None:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Visible text of an HTML email body, without the quoted thread (blockquote, gmail_quote)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = "".join(extractor.parts).split("\n")
    return _tidy([line.strip() for line in lines])
