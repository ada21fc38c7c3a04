"""Shared fixtures: the PostgreSQL harness; hypothesis is derandomised under CI."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

from storage.crypto import DEV_KEYS

pytest_plugins = ["tests.pg", "tests.standins.telegram_fixtures"]

# Locally, property tests explore new examples every run (and keep failures in .hypothesis/).
# In CI they run a fixed, derandomised set, so a landing never depends on a lucky draw.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Tests build apps with channels and PostgreSQL on, which need DATA_KEYS; the development key
# keeps every engine a test makes itself (make_engine(url), no keys) able to read their rows.
os.environ.setdefault("DATA_KEYS", DEV_KEYS[0])


@pytest.fixture(scope="session")
def _loaded_programs() -> dict[Any, Any]:
    return {}


@pytest.fixture
def program_loaded_once(monkeypatch: pytest.MonkeyPatch, _loaded_programs: dict[Any, Any]) -> None:
    """For test files that build many apps on the same, unedited program: read and check it once."""
    from bot.program_files import load_program
    from bot.runtime import program_holder

    def cached(files: Any, crisis: Any = None) -> Any:
        if (files, crisis) not in _loaded_programs:
            _loaded_programs[files, crisis] = load_program(files, crisis)
        return _loaded_programs[files, crisis]

    monkeypatch.setattr(program_holder, "load_program", cached)
