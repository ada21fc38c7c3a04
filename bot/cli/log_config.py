"""Logging for `craftbot` commands: quiet by default, one line when something happened.

One-shot commands log warnings only. Services (serve, web, worker, telegram poll) log at INFO:
one line per tick that did something, one per webhook (uvicorn's access line), and warnings and
errors. Libraries that talk at INFO on every run (APScheduler says "Running job" and "executed
successfully" each second; httpx one line per request, so every Telegram poll; Alembic two
lines on every start) are held to warnings unless --verbose asks for everything.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY_LIBRARIES = ("apscheduler", "alembic", "httpx", "httpcore", "aiohttp.access", "telegram.ext")


def configure(*, verbose: bool = False, service: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO if service else logging.WARNING
    logging.basicConfig(level=level, format=FORMAT)  # a no-op when handlers exist (tests)
    logging.getLogger().setLevel(level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
