"""Admin commands: enroll, import, export, and db upgrade."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.app import App, build
from bot.runtime.admin import (
    CSV_COLUMNS,
    RELATIONSHIPS,
    EnrollError,
    Enrollment,
    enroll,
    import_csv,
)
from bot.runtime.exports import EXPORT_COLUMNS, EXPORTS, export_rows
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import current_revision, upgrade


def register(sub: Any) -> None:
    p = sub.add_parser(
        "enroll", help="enroll a family member whose consent the organisation collected"
    )
    p.add_argument("--channel", required=True, choices=("sms", "telegram", "email"))
    p.add_argument("--address", required=True, help="phone (E.164), Telegram chat id, or email")
    p.add_argument("--name")
    p.add_argument("--relationship", choices=RELATIONSHIPS)
    p.add_argument("--loved-one", dest="loved_one")
    p.add_argument("--timezone", help="IANA zone such as America/Chicago")
    p.add_argument(
        "--lesson-time", dest="lesson_time", default="09:00", help="HH:MM (default 09:00)"
    )
    p.add_argument(
        "--checkin-time", dest="checkin_time", default="19:00", help="HH:MM (default 19:00)"
    )
    p.add_argument("--locale", default="en")
    p.set_defaults(handler=run_enroll)

    p = sub.add_parser(
        "import", help="bulk enroll from a CSV file (columns: " + ", ".join(CSV_COLUMNS) + ")"
    )
    p.add_argument("file", type=Path)
    p.set_defaults(handler=run_import)

    p = sub.add_parser("export", help="write contacts, checkins, messages or alerts to stdout")
    p.add_argument("what", choices=EXPORTS)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.set_defaults(handler=run_export)

    p = sub.add_parser("db", help="database commands")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="run migrations to the newest schema (any database)")
    up.set_defaults(handler=run_upgrade)


@contextmanager
def _app() -> Iterator[App]:
    """The app without channels; its connections are closed when the command is done."""
    app = build(channels={})
    try:
        yield app
    finally:
        app.engine.dispose()


def run_enroll(args: argparse.Namespace) -> int:
    with _app() as app:
        try:
            contact_id = enroll(
                app.ctx,
                Enrollment(
                    args.channel,
                    args.address,
                    args.name,
                    args.relationship,
                    args.loved_one,
                    args.timezone,
                    args.lesson_time,
                    args.checkin_time,
                    args.locale,
                ),
            )
        except EnrollError as exc:
            print(f"craftbot enroll: {exc}", file=sys.stderr)
            return 2
    print(contact_id)
    return 0


def run_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"craftbot import: cannot read {args.file} as a UTF-8 CSV file ({exc})", file=sys.stderr
        )
        return 2
    with _app() as app:
        ids, errors = import_csv(app.ctx, io.StringIO(text, newline=""))
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    print(f"imported {len(ids)} row(s); {len(errors)} row(s) had problems and were not imported")
    return 1 if errors else 0


def run_export(args: argparse.Namespace) -> int:
    with _app() as app:
        rows = export_rows(app.ctx, args.what)
        if args.format == "jsonl":
            for row in rows:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            return 0
        writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_COLUMNS[args.what])
        writer.writeheader()
        writer.writerows(rows)
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(Settings().database_url)
    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0
