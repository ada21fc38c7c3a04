"""Shared fixtures: the PostgreSQL harness; hypothesis is derandomised under CI."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
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
# Likewise the key of DELETE's hashed opt-out, required once real families can write.
os.environ.setdefault("ADDRESS_HASH_KEY", "tests-address-hash-key-0123456789abcdef")


@pytest.fixture(scope="session")
def _loaded_programs() -> dict[Any, Any]:
    return {}


def _fingerprint(files: Any) -> bytes:
    """The program's content: every file under flows/ and messages/, by path and bytes."""
    digest = hashlib.blake2b(digest_size=16)
    for folder in (files.flows_dir, files.messages_dir):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


@pytest.fixture(autouse=True)
def program_loaded_once(monkeypatch: pytest.MonkeyPatch, _loaded_programs: dict[Any, Any]) -> None:
    """Apps built on a program whose files are unchanged reuse its reading and checks.

    Keyed by the files' bytes (and the crisis policy), so a test that edits a copy of the program
    gets its edit read and checked as a running service would. Commands that validate
    (`craftbot flows validate`) and the console's check still read everything.
    """
    from bot.program_files import load_program
    from bot.runtime import program_holder

    def cached(files: Any, crisis: Any = None) -> Any:
        key = (_fingerprint(files), crisis)
        if key not in _loaded_programs:
            if len(_loaded_programs) >= 8:  # a test's own copies are read once: keep a few
                del _loaded_programs[next(iter(_loaded_programs))]
            _loaded_programs[key] = load_program(files, crisis)
        # the most recently used last, so the repository's program stays
        loaded, problems = _loaded_programs[key] = _loaded_programs.pop(key)
        return loaded, list(problems)

    monkeypatch.setattr(program_holder, "load_program", cached)
