"""Forms that must take effect once: a message to a family, a note on an alert.

A coach who taps Send twice on a slow phone, or reloads the page a send answered, makes the
browser post the same form again. Each such form carries a `once` field, new with every page;
the first post of it does the work and keeps its answer (where to go next), and a repeat gets
that answer without doing it again. A post still at work when its repeat comes holds the
repeat back until it is done. Kept in this web process, for the last `KEEP` forms: a repeat
reaches the same process (the same browser connection), and the forms' pages live for minutes.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

FIELD = "once"
KEEP = 10_000


class OnceForms:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._done: OrderedDict[tuple[int, str], str | None] = OrderedDict()  # None: at work
        self._lock = threading.Condition()

    @staticmethod
    def issue() -> str:
        """A new form's `once` value."""
        return secrets.token_urlsafe(16)

    def claim(self, staff_id: int, once: str) -> str | None:
        """None: this post is the first, do the work and `keep` its answer (or `release` it).
        Otherwise the answer the first post gave. A form without the field is never held."""
        if not once:
            return None
        key = (staff_id, once[:64])
        with self._lock:
            self._lock.wait_for(lambda: self._done.get(key, "") is not None, timeout=60)
            if key in self._done and self._done[key] is not None:
                return self._done[key]
            self._done[key] = None
            while len(self._done) > self._keep:
                self._done.popitem(last=False)
            return None

    def keep(self, staff_id: int, once: str, answer: str) -> None:
        if once:
            with self._lock:
                self._done[(staff_id, once[:64])] = answer
                self._lock.notify_all()

    def release(self, staff_id: int, once: str) -> None:
        """Nothing was done (refused): the same form may be sent again."""
        if once:
            with self._lock:
                self._done.pop((staff_id, once[:64]), None)
                self._lock.notify_all()
