"""What every runtime piece needs, built once by the app builder and passed in (no globals)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.runtime.program_holder import ProgramHolder
from bot.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    program: ProgramHolder
    db: sessionmaker[Session]
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
