"""A comment that cuts a phrase short: to YAML, `- not # sure` is the phrase "not"."""

from __future__ import annotations

import re

from bot.problems import Problem

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'')


def phrases_cut_by_comments(source: str, name: str) -> list[Problem]:
    """Every list entry that a ` #` on its line cuts short. In the phrase language `#` is any
    number, but YAML reads everything from ` #` to the end of the line as a comment: `- not # sure`
    is the phrase "not", and a flow list loses the rest of its line. Quoted phrases are safe."""
    problems = []
    depth = 0  # the [ of a flow list that runs over several lines
    for number, line in enumerate(source.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        bare = _QUOTED.sub(lambda m: "x" * len(m.group()), line)  # same length, no # inside
        at = bare.find(" #")
        content = bare if at < 0 else bare[:at]
        in_list = depth > 0 or "[" in content or content.lstrip().startswith("- ")
        depth = max(0, depth + content.count("[") - content.count("]"))
        if at < 0 or not in_list:
            continue
        start = max(content.rfind("["), content.rfind(","), content.find("- ") + 1) + 1
        entry = line[start:at].strip()
        if not entry or entry.endswith(":"):
            continue  # a comment after "[", "," or a key cuts nothing
        problems.append(
            Problem(
                name,
                number,
                line.index(entry, start) + 1,
                "",
                f"'{entry}' is followed by '{line[at + 1 :].strip()}', which YAML reads as a "
                f"comment, so the entry is just '{entry}'",
                'For # (any number) in a phrase, put the phrase in quotes ("at # years ago"); a '
                "note goes on a line of its own.",
            )
        )
    return problems
