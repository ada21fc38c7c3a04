"""Logging for `craftbot` commands: quiet by default, one line when something happened, and
nothing personal or secret in any line at any level.

One-shot commands log warnings only. Services (serve, web, worker, telegram poll) log at INFO:
one line per tick that did something, one per webhook (uvicorn's access line), and warnings and
errors. Libraries that talk at INFO on every run (APScheduler says "Running job" and "executed
successfully" each second; Alembic two lines on every start) are held to warnings unless
--verbose asks for everything.

Privacy holds at every level, --verbose included:
- libraries that log whole requests or statements (the Twilio, Telegram and SendGrid SDKs, the
  HTTP clients, SQLAlchemy's echo with its parameters) are held to warnings always: their debug
  lines carry phone numbers, chat ids, message bodies and tokens;
- every line passes through a redactor: email addresses and E.164 numbers (percent-encoded too),
  the configured secrets, the tokens of link paths (unsubscribe, MYDATA, a staff welcome) and
  query strings are replaced before the line is written, and the access line's client address
  is dropped.
Our own code logs ids and counts, never an address or a body (tests/test_log_privacy.py).

LOG_FORMAT=json writes one JSON object a line (time, level, logger, message, exc).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY_LIBRARIES = ("apscheduler", "alembic", "aiohttp.access", "telegram.ext")
# Held to WARNING at every level: their debug and info lines are whole requests and payloads.
PAYLOAD_LOGGERS = (
    "twilio",
    "telegram",
    "httpx",
    "httpcore",
    "aiohttp.client",
    "python_http_client",
    "sendgrid",
    "urllib3",
    "sqlalchemy",
    "multipart",
    "python_multipart",
    "hpack",
)
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])\+\d{7,15}\b")
# Links whose path is their key: one-click unsubscribe, MYDATA's single-use data link, a staff
# account's set-a-password link. Whoever reads the line must not be able to follow the link.
LINK_PATH = re.compile(r"/(unsubscribe|mydata|welcome)/[^\s\"'?]+")
# A query string is whatever the client typed (the console's family search: a phone number, an
# email address, a name): no line keeps one.
QUERY = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']+")
# PostgreSQL's own error details quote the values of a row or a key (a family's address or chat
# id); the statement's parameters are hidden by the engine (storage/db.py).
ROW_DETAIL = re.compile(r"(Failing row contains |Key \([^)]*\)=)\(.*?\)(?= already| is not|\.|$)")
# The same addresses percent-encoded, as an access line writes a path: %2B for +, %40 for @.
EMAIL_ENCODED = re.compile(r"[\w.+'%-]+%40[\w-]+(?:\.[\w-]+)+")
PHONE_ENCODED = re.compile(r"%2[Bb]\d{7,15}\b")
HANDLER_NAME = "craftbot"


class Redactor:
    """Replaces what must never be written: addresses, numbers, secrets, link tokens."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for secret in self.secrets:
            if secret in line:
                line = line.replace(secret, "<secret>")
        line = ROW_DETAIL.sub(r"\1(<values>)", line)
        line = LINK_PATH.sub(r"/\1/<token>", line)
        line = QUERY.sub(r"\1?<query>", line)
        line = EMAIL_ENCODED.sub("<email>", line)
        line = EMAIL.sub("<email>", line)
        line = PHONE_ENCODED.sub("<phone>", line)
        return PHONE.sub("<phone>", line)


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors; the same redaction as the text form."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class SkippedRunFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": a tick that
    outlasts its interval (a busy morning, a slow provider paced at 1 SMS a second) skips the
    next run by design (max_instances=1, coalesce), and a WARNING each time is no news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith("apscheduler")
            and "maximum number of running instances" in record.getMessage()
        )


class NoClientAddress(logging.Filter):
    """uvicorn's access line starts with the client's IP address and port: a family's, a coach's,
    whoever followed an unsubscribe or MYDATA link. Personal data we have no use for: "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and args:
            record.args = ("-", *args[1:])
        return True


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written (tests and tools swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _: IO[str]) -> None:
        pass


def secrets_from_environment() -> list[str]:
    """The values of every setting that is a secret, as the process was given them."""
    names = (
        "TWILIO_AUTH_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "SENDGRID_API_KEY",
        "SENDGRID_INBOUND_SECRET",
        "UNSUBSCRIBE_SIGNING_KEY",
        "CONSOLE_SECRET_KEY",
        "METRICS_TOKEN",
        "DATABASE_URL",
        "ADDRESS_HASH_KEY",
        "DATA_KEYS",
    )
    found = [os.environ.get(n) or os.environ.get(n.lower()) or "" for n in names]
    # DATA_KEYS is a list: each key is a secret of its own, wherever one shows up alone
    keys = found[names.index("DATA_KEYS")].split(",")
    return [v for v in (*found, *(k.strip() for k in keys)) if v]


def configure(
    *,
    verbose: bool = False,
    service: bool = False,
    json_format: bool | None = None,
    secrets: Iterable[str] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install craftbot's one handler on the root logger (replacing an earlier one of ours);
    returns it, installed or not."""
    level = logging.DEBUG if verbose else logging.INFO if service else logging.WARNING
    if json_format is None:
        json_format = os.environ.get("LOG_FORMAT", "").strip().lower() == "json"
    redact = Redactor(secrets_from_environment() if secrets is None else secrets)
    handler: logging.Handler = logging.StreamHandler(stream) if stream else CurrentStderr()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter(redact) if json_format else TextFormatter(redact))
    handler.addFilter(NoClientAddress())
    if not verbose:
        handler.addFilter(SkippedRunFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    # As logging.basicConfig: a process whose logging is set up already (a test runner, an
    # embedding program) keeps its handlers, unless a stream is given outright.
    if stream is not None or not root.handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's loggers write through their own handlers unless told to propagate to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler
