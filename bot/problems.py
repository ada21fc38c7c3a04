"""Problems found in YAML that admins edit: each one says where, what, and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One error in an admin's file, printed as `file:line:col: where: message. hint`."""

    file: str
    line: int
    col: int
    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        message = self.message
        if self.hint:
            message = (
                (message if message.endswith((".", "?", "!")) else message + ".") + " " + self.hint
            )
        return f"{self.file}:{self.line}:{self.col}: {place}{message}"


class ProblemsFound(Exception):
    """Raised when loading finds problems; carries every one of them, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
