"""Admin commands: enroll, import, export, and db upgrade."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from bot import family_details as details
from bot.app import App
from bot.cli.environment import CliError, database_errors, load_settings, open_app
from bot.runtime.admin import (
    CSV_COLUMNS,
    RELATIONSHIPS,
    WELCOME,
    EnrollError,
    Enrollment,
    enroll,
    normalize_address,
)
from bot.runtime.context import Context
from bot.runtime.exports import EXPORT_COLUMNS, EXPORTS, export_rows
from bot.runtime.family_clock import Clocks
from bot.settings import Settings
from storage import models as m
from storage.db import make_engine
from storage.migrate import current_revision, upgrade
from storage.queries import reads

FIRST = {"lesson": "the first lesson", "checkin": "the evening check-in", "nudge": "a nudge"}
QUEUED = {WELCOME: "the welcome message"}
CHANNEL_SETTINGS = {
    "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
    "telegram": "TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET",
    "email": "SENDGRID_API_KEY, SENDGRID_FROM_EMAIL, SENDGRID_INBOUND_SECRET, "
    "UNSUBSCRIBE_SIGNING_KEY and ORG_POSTAL_ADDRESS",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "enroll", help="enroll a family member whose consent the organisation collected"
    )
    p.add_argument("--channel", required=True, choices=details.CHANNELS)
    p.add_argument(
        "--address",
        required=True,
        help="phone (+1 202 555 0123, or national in DEFAULT_REGION), Telegram chat id, or email",
    )
    p.add_argument("--name")
    p.add_argument(
        "--relationship",
        help=f"{', '.join(RELATIONSHIPS)}, or what the chat understands (wife, my son, brother)",
    )
    p.add_argument("--loved-one", dest="loved_one")
    p.add_argument("--timezone", help="America/Chicago, or what the chat understands (central)")
    p.add_argument("--lesson-time", dest="lesson_time", default="09:00", help="09:00 or 9am")
    p.add_argument("--checkin-time", dest="checkin_time", default="19:00", help="19:00 or 7pm")
    p.add_argument("--locale", default="en", help="the family's language: en (default) or es")
    p.add_argument("--dry-run", action="store_true", help="check and say what would happen")
    p.set_defaults(handler=run_enroll)

    p = sub.add_parser(
        "import", help="bulk enroll from a CSV file (columns: " + ", ".join(CSV_COLUMNS) + ")"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="check every row; enroll nobody")
    p.add_argument(
        "--locale", default="en", help="the language of rows with no locale column value (en, es)"
    )
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
def _app(reads_records: bool) -> Iterator[App]:
    """The app without channels; its connections are closed when the command is done. A command
    that only reads (export) never creates the database it names."""
    app = open_app(load_settings(reads_records=reads_records), channels={})
    try:
        yield app
    finally:
        app.engine.dispose()


@contextmanager
def _writing(app: App, dry_run: bool) -> Iterator[Context]:
    """The app's context; for a dry run, one whose every write is rolled back at the end.

    Enrolment runs exactly as it would (its transactions become savepoints of one outer
    transaction), so a dry run finds what a real run would, duplicates within a CSV included.
    """
    if not dry_run:
        yield app.ctx
        return
    with app.engine.connect() as connection:
        outer = connection.begin()
        try:
            yield replace(
                app.ctx,
                db=sessionmaker(
                    bind=connection,
                    expire_on_commit=False,
                    join_transaction_mode="create_savepoint",
                ),
            )
        finally:
            outer.rollback()


def first_messages(ctx: Context, contact_id: int) -> tuple[list[tuple[str, str]], str | None]:
    """What the family gets first: the messages queued for them (the welcome), in the order they
    go, as (what, local time), and their first timer (a lesson, a check-in) with its local time.
    A queued message waits for the family's quiet hours to end, so that is when it is said to go;
    so does a timer already due (a 09:00 lesson for a family enrolled at 14:00 goes now,
    docs/scheduling.md), never at its past due time.
    """
    with ctx.db() as db:
        contact = db.get_one(m.Contact, contact_id)
        clock = Clocks(ctx.settings).of(contact.timezone, contact.quiet_start, contact.quiet_end)
        timers, queued = reads.first_due(db, contact_id)

    def local(at: datetime) -> str:
        return details.local_time(at, clock.zone.key)

    messages = [
        (QUEUED.get(mid, repr(mid)), local(clock.held_until(max(at, ctx.clock()))))
        for at, mid in sorted(queued)
    ]
    if not timers:
        return messages, None
    at, kind = min(timers)
    return messages, f"{FIRST.get(kind, kind)}, {local(clock.held_until(max(at, ctx.clock())))}"


def enrolled(ctx: Context, request: Enrollment, dry_run: bool) -> str:
    """Enrol one family member; what happened, in one line: who, and what they get first."""
    contact_id = enroll(ctx, request)
    with ctx.db() as db:
        contact = db.get_one(m.Contact, contact_id)
        who = details.who({**vars(request), "channel": contact.channel, "address": contact.address})
    messages, timer = first_messages(ctx, contact_id)
    queued = "would be queued" if dry_run else "is queued"
    first = [f"{what} {queued} for {at}" for what, at in messages]
    if timer:
        first.append(f"then {timer}" if first else f"the first message is {timer}")
    when = ", ".join(first) or "nothing is scheduled yet"
    if dry_run:
        return f"{who} would be enrolled; {when} (dry run: nothing was saved)"
    return f"{who} enrolled as contact {contact_id}; {when}"


def problems_said(problems: list[str], outcome: str) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems, {outcome}:\n  " + "\n  ".join(problems)


def channel_warning(settings: Settings, channel: str) -> str | None:
    if settings.channel_enabled(channel):
        return None
    return (
        f"warning: the {channel} channel is not configured ({CHANNEL_SETTINGS[channel]} are not "
        "set here), so messages wait in the outbox until it is"
    )


def run_enroll(args: argparse.Namespace) -> int:
    request = Enrollment(
        args.channel,
        args.address,
        args.name,
        args.relationship,
        args.loved_one,
        args.timezone,
        args.lesson_time,
        args.checkin_time,
        args.locale,
    )
    with _app(False) as app, _writing(app, args.dry_run) as ctx:
        try:
            line = enrolled(ctx, request, args.dry_run)
        except EnrollError as exc:
            raise CliError(problems_said(exc.problems, "nobody was enrolled")) from None
        warning = channel_warning(app.settings, args.channel)
    print(line)
    if warning:
        print(f"craftbot enroll: {warning}", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{args.file}: there is no such file") from None
    except IsADirectoryError:
        raise CliError(f"{args.file}: is a folder; give the CSV file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{args.file}: cannot be read as a UTF-8 CSV file ({exc})") from None
    rows, file_problems = details.read_csv(io.StringIO(text, newline=""))
    if file_problems:
        raise CliError(f"{args.file}: " + "; ".join(file_problems))
    done, refused, channels = 0, 0, []
    lines: dict[tuple[str, str], int] = {}  # (channel, address) -> the line that enrolled it
    with _app(False) as app, _writing(app, args.dry_run) as ctx:
        region = app.settings.phone_region()
        for row in rows:
            try:
                if row.problems:
                    raise EnrollError(list(row.problems))
                values = {**row.values, "locale": row.values.get("locale") or args.locale}
                key = _address_key(values, region)
                if key in lines:  # said so, rather than "already enrolled (contact 2)" in a dry run
                    raise EnrollError(f"{key[0]} {key[1]} repeats line {lines[key]} of this file")
                print(f"line {row.line}: " + enrolled(ctx, Enrollment(**values), args.dry_run))
                done += 1
                channels.append(row.values["channel"])
                if key is not None:
                    lines[key] = row.line
            except EnrollError as exc:
                refused += 1
                for problem in exc.problems:
                    print(f"{args.file}:{row.line}: {problem}", file=sys.stderr)
        warnings = [w for c in dict.fromkeys(channels) if (w := channel_warning(app.settings, c))]
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {done} row(s); {refused} row(s) had problems and "
        f"{'would not be' if args.dry_run else 'were not'} imported"
    )
    for warning in warnings:
        print(f"craftbot import: {warning}", file=sys.stderr)
    return 1 if refused else 0


def _address_key(values: dict[str, str], region: str) -> tuple[str, str] | None:
    """(channel, address as stored), or None when the address is not one (enroll says why)."""
    channel = values.get("channel", "")
    try:
        return channel, normalize_address(channel, values.get("address", ""), region)
    except EnrollError:
        return None


def run_export(args: argparse.Namespace) -> int:
    with _app(True) as app:
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
    settings = load_settings()
    url, keys = settings.database_url, settings.data_key_list()
    with database_errors(url):
        engine = make_engine(url, keys or None)
        try:
            upgrade(engine)
            print(f"database at revision {current_revision(engine)}")
        finally:
            engine.dispose()
    return 0
