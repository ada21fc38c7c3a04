"""`craftbot keys rotate`: re-encrypt what is stored with the first DATA_KEYS key, in batches,
while the bot runs (docs/privacy.md, Keys and rotation).

Safe to stop and run again: a value already under the first key is skipped. It prints a line as
it goes, never a value.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.alerts_cmd import positive
from bot.cli.environment import (
    CliError,
    database_errors,
    load_settings,
    refuse_a_missing_database,
)
from storage.crypto import DataKeyProblem
from storage.db import DEFAULT_URL, make_engine
from storage.migrate import current_revision, head_revision
from storage.models import Base
from storage.reencrypt import encrypted_columns, renew_batch
from storage.types import cipher_of

REPORT_EVERY = 20  # batches between progress lines on a long column


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="encryption keys: re-encrypt what is stored with a new one")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    rotate = ksub.add_parser(
        "rotate", help="re-encrypt every stored value with the first DATA_KEYS key, in batches"
    )
    rotate.add_argument("--batch", type=positive, default=500, help="rows a transaction (500)")
    rotate.set_defaults(handler=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    settings = load_settings()
    keys = settings.data_key_list()
    if not keys:
        raise CliError(
            "DATA_KEYS is not set: put the new key first and the old one after it "
            "(DATA_KEYS=new,old), in every process of the bot too, then run this again"
        )
    url = settings.database_url
    if url != DEFAULT_URL:  # the default craftbot.db of a craftbot folder is made as for export
        refuse_a_missing_database(url)
    with database_errors(url):
        engine = make_engine(url, keys)
        try:
            if current_revision(engine) != head_revision():
                raise CliError("the database schema is not current: run `craftbot db upgrade`")
            read, renewed = _rotate(engine, args.batch)
        except DataKeyProblem as exc:
            raise CliError(str(exc)) from None
        finally:
            engine.dispose()
    print(f"done: {renewed} of {read} stored values re-encrypted with the first key", flush=True)
    if len(keys) > 1:
        print("the other DATA_KEYS entries can now be removed from every process", flush=True)
    return 0


def _rotate(engine: Any, size: int) -> tuple[int, int]:
    cipher = cipher_of(engine.dialect)
    read = renewed = 0
    for table, column in encrypted_columns(Base.metadata):
        after, batches, col_read, col_renewed = 0, 0, 0, 0
        while True:
            with engine.begin() as conn:  # one short transaction a batch: the bot keeps running
                batch = renew_batch(conn, cipher, table, column, after, size)
            batches += 1
            col_read += batch.read
            col_renewed += batch.renewed
            if batch.last_id is None:
                break
            after = batch.last_id
            if batches % REPORT_EVERY == 0:
                _say(f"{table}.{column}: {col_read} read, {col_renewed} re-encrypted so far")
        _say(f"{table}.{column}: {col_read} read, {col_renewed} re-encrypted")
        read += col_read
        renewed += col_renewed
    return read, renewed


def _say(line: str) -> None:
    print(line, file=sys.stdout, flush=True)
