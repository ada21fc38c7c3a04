"""The web chat: a coach plays a family member against the real engine, as `craftbot chat` does.

Each signed-in staff member gets one room: a `Harness` (bot/simulation.py, the same one the
terminal chat drives) on a throwaway SQLite file of its own, never the families' database, with
the program files on disk as they are now. Time is virtual and moves only when the coach asks.
Rooms live in this web process (a replica behind a load balancer needs sticky sessions for them).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.channels.base import ChannelName
from bot.settings import Settings
from bot.simulation import Harness, Sent

JUMPS = {"lesson": "the next lesson", "checkin": "the next check-in", "nudge": "the next nudge"}
WAITS = {"1h": timedelta(hours=1), "3h": timedelta(hours=3), "12h": timedelta(hours=12)}
ADDRESSES = {"sms": "+15550100", "email": "family00@example.org", "telegram": "1000"}
WAITS |= {"1d": timedelta(days=1), "2d": timedelta(days=2), "7d": timedelta(days=7)}


@dataclass(frozen=True)
class Line:
    who: str  # you | bot | clock
    text: str
    at: datetime
    crisis: bool = False


@dataclass
class Room:
    harness: Harness
    zone: ZoneInfo
    channel: ChannelName
    lines: list[Line] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def now(self) -> datetime:
        return self.harness.now.astimezone(self.zone)

    def held(self) -> list[tuple[str, datetime]]:
        return [(mid, at.astimezone(self.zone)) for mid, at in self.harness.held()]

    def _heard(self, sent: list[Sent]) -> None:
        self.lines += [
            Line("bot", s.text, s.at.astimezone(self.zone), s.kind == "crisis") for s in sent
        ]

    def _moved(self, said: str, sent: list[Sent]) -> None:
        """The clock's line where it belongs in time: after what went out on the way (a lesson at
        9:00 on the way to 13:00 tomorrow), before what the new moment brought."""
        now = self.now
        self._heard([s for s in sent if s.at < now])
        self.lines.append(Line("clock", said, now))
        self._heard([s for s in sent if s.at >= now])

    def say(self, text: str) -> None:
        with self.lock:
            self.lines.append(Line("you", text, self.now))
            self._heard(self.harness.say(text))

    def jump(self, kind: str) -> str:
        """Move the clock to this family's next lesson, check-in or nudge; '' or why not."""
        with self.lock:
            try:
                sent = self.harness.until(kind)
            except LookupError:
                return f"Nothing like {JUMPS[kind]} is scheduled yet: finish joining first."
            self._moved(f"moved to {JUMPS[kind]}", sent)
            return ""

    def wait(self, step: timedelta) -> None:
        with self.lock:
            sent = self.harness.advance(step)
            self._moved(f"{_say(step)} later", sent)


def _say(step: timedelta) -> str:
    hours = int(step.total_seconds() // 3600)
    return f"{hours // 24} day(s)" if hours >= 24 else f"{hours} hour(s)"


class ChatRooms:
    """One room per staff member, each on its own SQLite file in a temporary folder."""

    def __init__(self, settings: Settings, make: Callable[..., Harness] = Harness) -> None:
        self.settings, self.make = settings, make
        self._folder: tempfile.TemporaryDirectory[str] | None = None  # made by the first room
        self._rooms: dict[int, Room] = {}
        self._serial = 0
        self._lock = threading.Lock()

    def get(self, staff_id: int) -> Room | None:
        return self._rooms.get(staff_id)

    def open(self, staff_id: int, channel: ChannelName, zone_name: str) -> Room:
        """A new room for this staff member (the old one, if any, is closed): a new person."""
        zone = ZoneInfo(zone_name)
        with self._lock:
            self._serial += 1
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="craftbot-console-chat-")
            path = Path(self._folder.name) / f"chat-{staff_id}-{self._serial}.db"
            old = self._rooms.pop(staff_id, None)
        if old is not None:
            old.harness.close()
        settings = self.settings.model_copy(
            update={"database_url": f"sqlite:///{path}", "default_timezone": zone_name}
        )
        # 13:00 in the chosen zone: outside quiet hours, as the terminal chat starts.
        start = datetime.combine(datetime.now(zone).date(), time(13), tzinfo=zone)
        room = Room(self.make(settings, start, channel, ADDRESSES[channel]), zone, channel)
        with self._lock:
            self._rooms[staff_id] = room
        return room

    def close(self) -> None:
        with self._lock:
            rooms, self._rooms = list(self._rooms.values()), {}
        for room in rooms:
            room.harness.close()
        if self._folder is not None:
            self._folder.cleanup()
