"""SQLite's one writer, handed over at once: a queue in front of BEGIN IMMEDIATE.

SQLite lets one transaction write at a time. A connection that finds the file locked sleeps in
SQLite's busy handler, with sleeps that grow to 100 ms, and looks again: a webhook's reply could
wait for a worker's batch longer than the batch took. Writers here queue first on a lock that wakes
the next one as soon as the last commits: a thread lock within the process, then an advisory lock
on a file beside the database (`<database>-writer`) across processes. The file lock is only a
queue: SQLite's own lock stays the rule (a process that does not take the queue, the sqlite3 shell
say, still meets the busy timeout), and a writer that waited past the timeout goes on without the
queue, so SQLite's busy handler decides, as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

try:
    import fcntl
except ImportError:  # not on Windows: writers queue within each process only
    fcntl = None  # type: ignore[assignment]

FIRST_PAUSE_S = 0.0001  # the file lock is asked again after this, doubling up to LAST_PAUSE_S
LAST_PAUSE_S = 0.001


class WriterQueue:
    """Take before BEGIN IMMEDIATE, give back after COMMIT or ROLLBACK (storage/db.py)."""

    def __init__(self, database: str | None, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._threads = threading.Lock()
        self._path = f"{database}-writer" if database and fcntl is not None else None
        self._fd: int | None = None
        self._pid = 0  # the process that opened _fd: a forked child opens its own
        self._file_held = False

    def acquire(self) -> bool:
        """Wait for this writer's turn (at most the timeout); True if it is this writer's turn and
        release() must follow, False if it waited past the timeout."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            return False
        fd = self._file()
        if fd is None:
            return True
        pause = FIRST_PAUSE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, LAST_PAUSE_S)
                continue
            except OSError:  # a lock the file system cannot give: SQLite's busy handler decides
                return True
            self._file_held = True
            return True

    def release(self) -> None:
        if self._file_held and self._fd is not None:
            self._file_held = False
            with contextlib.suppress(OSError):  # then the lock goes when the file does
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _file(self) -> int | None:
        """This process's descriptor of the queue's file (None: no file, or it cannot be opened,
        e.g. a read-only folder)."""
        if self._path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._path = None
                return None
            self._pid = os.getpid()
        return self._fd
