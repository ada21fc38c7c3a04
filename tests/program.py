"""The shipped program, loaded once for tests that need it."""

from __future__ import annotations

from functools import cache

from bot.program_files import Loaded, ProgramFiles, load_program
from bot.settings import REPO_ROOT


@cache
def shipped() -> Loaded:
    loaded, problems = load_program(ProgramFiles.at(REPO_ROOT))
    assert loaded is not None, "\n".join(map(str, problems))
    return loaded
