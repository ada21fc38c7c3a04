"""YAML syntax errors in plain words, at the line that is wrong, with advice that fits the mistake.

The parser notices a mistake where it gets stuck, which is often the line after it (a key without
its ':' is found out on the next line) and it describes what it expected, not what the author did
("did not find expected '-' indicator" for a key indented one space short). We read the source
around the mark to say what happened and where.
"""

from __future__ import annotations

from dataclasses import dataclass

from yaml import MarkedYAMLError

# The parser's words, and what they usually mean for someone editing flows or messages by hand.
_SYNTAX_EXPLAINED: tuple[tuple[str, str, str], ...] = (
    (
        "found '<scalar>'",
        "text goes on after a quoted value",
        "Put the whole text inside the quotes, or remove the quotes.",
    ),
    (
        "mapping values are not allowed",
        "a ': ' appears where YAML does not expect a new key",
        "If the text itself contains ': ', put the whole text in quotes; "
        "otherwise check the indentation.",
    ),
    (
        "found character '\\t'",
        "a tab is used for indentation",
        "YAML needs spaces: replace the tab with spaces.",
    ),
    (
        "found a tab character",
        "a tab is used for indentation",
        "YAML needs spaces: replace the tab with spaces.",
    ),
    (
        "cannot start any token",
        "a value starts with a character YAML keeps for itself (such as @, ` or a tab)",
        "Put the whole text in quotes, and indent with spaces.",
    ),
    (
        "end of stream",
        "a quote is opened but never closed",
        "Close the quote at the end of the text.",
    ),
    ("expected ',' or ']'", "a [ list ] is opened but never closed", "Add the missing ']'."),
    ("expected ',' or '}'", "a { mapping } is opened but never closed", "Add the missing '}'."),
    (
        "duplicate key",
        "the same key appears twice in one mapping",
        "Keep one of them: the second would silently replace the first.",
    ),
)
# What the parser says when a line does not line up with the block it belongs to.
_INDENTATION = (
    "did not find expected '-' indicator",
    "did not find expected key",
    "expected <block end>",
)


@dataclass(frozen=True)
class SyntaxExplained:
    line: int  # 1-based
    col: int
    message: str
    hint: str


def explain_syntax_error(problem: str) -> tuple[str, str]:
    """(message, hint) in plain words for a parser error; the parser's own words kept for detail."""
    for clue, meaning, hint in _SYNTAX_EXPLAINED:
        if clue in problem:
            return f"this is not valid YAML: {meaning} (the parser says: {problem})", hint
    return (
        f"this is not valid YAML: {problem}",
        "Check the indentation and that every ':' has a space after it.",
    )


def explain(exc: MarkedYAMLError, source: str) -> SyntaxExplained:
    """Where the mistake is and what to do about it, from the parser's error and the file's text."""
    problem = str(exc.problem or exc)
    lines = source.splitlines()
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if "could not find expected ':'" in problem and exc.context_mark is not None:
        # Found out on the next line; the key without its colon is where the scan started.
        start = exc.context_mark
        return SyntaxExplained(
            start.line + 1,
            start.column + 1,
            "this is not valid YAML: this line has no ':' after its key (the parser says: "
            f"{problem})",
            "Write it as `key: value`, with a colon and a space after the key.",
        )
    if "end of stream" in problem or "<stream end>" in problem:
        # An unclosed quote or bracket is found at the end of the file: point at where it opened.
        opened = exc.context_mark or mark
        line, col = (opened.line + 1, opened.column + 1) if opened else (1, 1)
    if any(clue in problem for clue in _INDENTATION) or (
        "mapping values are not allowed" in problem and _indented_under_a_value(lines, line)
    ):
        advice = _indentation_advice(lines, line, problem)
        if advice is not None:
            message, hint = advice
            return SyntaxExplained(line, _indent(lines[line - 1]) + 1, message, hint)
    message, hint = explain_syntax_error(problem)
    return SyntaxExplained(line, col, message, hint)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _content(lines: list[str], before: int) -> list[tuple[int, str]]:
    """(1-based line, text) of the lines above `before` that hold YAML, nearest first."""
    out = []
    for number in range(before - 1, 0, -1):
        text = lines[number - 1]
        if text.strip() and not text.lstrip().startswith("#"):
            out.append((number, text))
    return out


def _levels(lines: list[str], line: int) -> list[tuple[int, int, str]]:
    """The indentations open at `line`, innermost first: (spaces, line, what) of each.

    `- id: ask` at 4 spaces opens two: list items at 4 and the item's keys at 6.
    """
    levels: list[tuple[int, int, str]] = []
    below = 10**6
    for number, text in _content(lines, line):
        indent = _indent(text)
        if indent >= below:
            continue
        below = indent
        stripped = text.lstrip(" ")
        if stripped.startswith("- ") or stripped == "-":
            inner = stripped[2:]
            inner_indent = indent + 2 + _indent(inner)
            if inner.strip() and ":" in inner and not levels:
                levels.append((inner_indent, number, _key_of(inner.strip())))
            levels.append((indent, number, "-"))
        else:
            levels.append((indent, number, _key_of(stripped)))
    return levels


def _key_of(text: str) -> str:
    key, colon, _ = text.partition(":")
    return f"'{key.strip()}:'" if colon else f"'{text.strip()[:20]}'"


def _indented_under_a_value(lines: list[str], line: int) -> bool:
    """True when `line` is indented deeper than a `key: value` line just above it."""
    above = _content(lines, line)
    if not above or line > len(lines):
        return False
    number, text = above[0]
    key, colon, value = text.strip().removeprefix("- ").partition(":")
    return bool(colon and value.strip()) and _indent(lines[line - 1]) > _indent(text)


def _indentation_advice(lines: list[str], line: int, problem: str) -> tuple[str, str] | None:
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    indent = _indent(text)
    stripped = text.lstrip(" ")
    is_item = stripped.startswith("- ") or stripped == "-"
    levels = _levels(lines, line)
    if not levels:
        return None
    said = f"(the parser says: {problem})"
    what = "list item" if is_item else "key"
    spaces = f"{indent} space{'s' if indent != 1 else ''}"
    if "mapping values are not allowed" in problem:
        number, above = _content(lines, line)[0]
        return (
            f"this is not valid YAML: this {what} is indented {spaces}, deeper than "
            f"{_key_of(above.strip().removeprefix('- '))} on line {number} "
            f"({_indent(above)} spaces), whose value is already given {said}",
            f"If it is a key of its own, line it up with that one ({_indent(above)} spaces); "
            "if it is text that contains ': ', put the whole text in quotes.",
        )
    # The level this line most likely meant: the nearest one of its own kind.
    kind = [lv for lv in levels if (lv[2] == "-") == is_item] or levels
    meant = min(kind, key=lambda lv: (abs(lv[0] - indent), lv[1] * -1))
    if indent == meant[0]:
        return None  # it does line up; something else is wrong, say what the parser says
    target = "the '-' of the list item" if meant[2] == "-" else meant[2]
    gap = abs(indent - meant[0])
    fewer_or_more = "fewer" if indent < meant[0] else "more"
    return (
        f"this is not valid YAML: this {what} is indented {spaces}, {gap} {fewer_or_more} than "
        f"{target} on line {meant[1]}, so it lines up with no {what} above it {said}",
        f"Indent it {meant[0]} spaces if it belongs with line {meant[1]}; the {what}s of one "
        "block line up exactly, using spaces.",
    )
