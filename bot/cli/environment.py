"""What commands need from their surroundings (settings, the program folder, the database), with
every way that can go wrong said in a line or two that names the setting, path or URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bot.app import App, build
from bot.program_files import ProgramFiles
from bot.settings import Settings
from storage.db import DEFAULT_URL

URL_EXAMPLES = "for example sqlite:///craftbot.db or postgresql://user:password@host:5432/craftbot"


class CliError(Exception):
    """A mistake the person at the keyboard can fix. `craftbot` prints it and exits 2."""


def is_program_folder(path: Path) -> bool:
    return (path / "flows").is_dir() and (path / "messages").is_dir()


def load_settings(
    *, needs_database: bool = True, reads_records: bool = False, **overrides: Any
) -> Settings:
    """Settings from the environment; a bad value or a database nobody chose is a CliError.

    Without DATABASE_URL the database is craftbot.db in the current folder, but only when that
    folder is a craftbot folder (flows/ and messages/): anywhere else that would silently make an
    empty database, and a command such as `export` would report an empty world. For the same
    reason a command that only reads or changes what is stored (`reads_records`: export, alerts,
    family, keys) refuses a DATABASE_URL naming a SQLite file that does not exist (a typo in the
    path) instead of creating it, folders and all.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise CliError(settings_problem(exc)) from None
    here = Path.cwd()
    chosen = "database_url" in settings.model_fields_set and settings.database_url.strip()
    if not chosen:
        settings = settings.model_copy(update={"database_url": DEFAULT_URL})
    if needs_database and not chosen and not is_program_folder(here):
        raise CliError(
            f"DATABASE_URL is not set, and {here} is not a craftbot folder (it has no flows/ "
            "and messages/), so there is no database to use. Set DATABASE_URL "
            f"({URL_EXAMPLES}), or run this in the craftbot folder."
        )
    if reads_records and chosen:
        refuse_a_missing_database(settings.database_url)
    return settings


def refuse_a_missing_database(url: str) -> None:
    """A SQLite file DATABASE_URL names and that is not there is a CliError (a command that
    reads what is stored would otherwise create it and report an empty world)."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise CliError(
            f"the database at {shown(url)} does not exist (there is no file {missing}), so there "
            "is nothing to read; check DATABASE_URL. Nothing was created (`craftbot db upgrade` "
            "makes a new database)"
        )


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist (None for other URLs, memory, URIs)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # said by database_errors, with what a URL looks like
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if "uri" in parsed.query or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path.absolute()


def settings_problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        if not error["loc"]:  # a rule across settings: its message names them (never the values)
            parts.append(error["msg"].removeprefix("Value error, "))
            continue
        name = "_".join(str(p) for p in error["loc"]).upper()
        parts.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "a setting has a value that cannot be used: " + "; ".join(parts)


def program_files(path: Path | None, settings: Settings | None = None) -> ProgramFiles:
    """The program at `path` (a folder with flows/ and messages/, or its flows/ folder), or at
    CRAFTBOT_PROGRAM_DIR; a folder that is neither is a CliError naming what is missing."""
    if path is None:
        root = (settings or load_settings(needs_database=False)).program_dir
        if not is_program_folder(root):
            raise CliError(
                f"CRAFTBOT_PROGRAM_DIR is {root}, which has no flows/ and messages/ folders: "
                "point it at the folder that holds them"
            )
        return ProgramFiles.at(root)
    if not path.exists():
        raise CliError(f"{path} does not exist")
    if not path.is_dir():
        raise CliError(f"{path} is a file; give the folder that holds flows/ and messages/")
    path = path.resolve()
    if is_program_folder(path):
        return ProgramFiles.at(path)
    if (path / "flows").is_dir():
        raise CliError(f"{path} has flows/ but no messages/ folder beside it")
    if (path / "messages").is_dir():
        raise CliError(f"{path} has messages/ but no flows/ folder beside it")
    if any(path.glob("*.yaml")) and (path.parent / "messages").is_dir():
        return ProgramFiles(path, path.parent / "messages")  # the flows/ folder itself
    if any(path.glob("*.yaml")):
        raise CliError(
            f"{path} looks like a flows folder, but there is no messages/ folder beside it "
            f"({path.parent / 'messages'})"
        )
    raise CliError(
        f"{path} is not a program folder: it needs flows/ and messages/ (or give the flows/ "
        "folder that has messages/ beside it)"
    )


def shown(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached or a URL that is not one, said in one line."""
    try:
        yield
    except (ArgumentError, NoSuchModuleError) as exc:
        raise CliError(
            f"DATABASE_URL {shown(url)} is not a database URL SQLAlchemy can use "
            f"({_first_line(exc)}); {URL_EXAMPLES}"
        ) from None
    except DBAPIError as exc:
        reason = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
        raise CliError(f"the database at {shown(url)} cannot be used: {reason}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"the database at {shown(url)} cannot be used: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


NOBODY_ON_CALL = (
    "no staff alert addresses are set (STAFF_ALERT_SMS, STAFF_ALERT_EMAIL, STAFF_ALERT_TELEGRAM, "
    "STAFF_BACKUP_*): crisis alerts are stored but NOBODY is told, and families are not told "
    "that a person knows"
)


def warn_if_nobody_on_call(settings: Settings) -> None:
    """One loud line at the start of a service that answers families with nobody on call
    (web, worker, serve and `telegram poll`)."""
    if not settings.alerting_configured():
        logging.getLogger("craftbot").warning(NOBODY_ON_CALL)


def open_app(settings: Settings, **kwargs: Any) -> App:
    """The wired app (bot/app.py), with a missing program folder or a database it cannot use
    said in one line."""
    program_files(None, settings)
    with database_errors(settings.database_url):
        return build(settings, **kwargs)
