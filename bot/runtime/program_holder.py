"""The program in use, swapped whole on reload; a broken edit never replaces a working program."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bot.engine.program import CrisisPolicy
from bot.problems import Problem
from bot.program_files import Loaded, ProgramFiles, load_program

log = logging.getLogger(__name__)


class ProgramHolder:
    def __init__(self, files: ProgramFiles, crisis: CrisisPolicy) -> None:
        self.files, self.crisis = files, crisis
        self._loaded: Loaded | None = None
        self._stamp: float = 0.0
        self._checked: float = 0.0
        self._lock = threading.Lock()

    @property
    def current(self) -> Loaded:
        if self._loaded is None:
            raise RuntimeError(
                "no valid program is loaded: run `craftbot flows validate` to see why"
            )
        return self._loaded

    def reload(self) -> list[Problem]:
        """Load and validate; swap only when there is no problem. Returns the problems found."""
        with self._lock:
            stamp = self._files_stamp()
            loaded, problems = load_program(self.files, self.crisis)
            if loaded is not None:
                self._loaded = loaded
                log.info("program loaded from %s", self.files.flows_dir.parent)
            elif self._loaded is not None:
                log.error(
                    "program edit refused, keeping the last good program:\n%s",
                    "\n".join(map(str, problems)),
                )
            self._stamp = stamp
            return problems

    def reload_if_changed(self, at_most_every_s: float = 0.0) -> list[Problem]:
        """Reload when a file under flows/ or messages/ changed; look no more often than asked."""
        now = time.monotonic()
        if now - self._checked < at_most_every_s:
            return []
        self._checked = now
        if self._files_stamp() != self._stamp:
            return self.reload()
        return []

    def _files_stamp(self) -> float:
        paths: list[Path] = [
            *self.files.flows_dir.rglob("*.yaml"),
            *self.files.messages_dir.rglob("*.yaml"),
        ]
        return max((p.stat().st_mtime for p in paths), default=0.0) + len(paths)
