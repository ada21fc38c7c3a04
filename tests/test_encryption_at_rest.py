"""Encryption at rest: after a conversation, a raw copy of the database (SQLite's file, a
pg_dump-style SELECT of every table on PostgreSQL) shows none of what the family wrote or was
told, while the bot and the console read it all; the migration encrypts rows written before it;
keys are required once real families can write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.settings import ConfigError, Settings
from storage import console_queries as cq
from storage import models as m
from storage.crypto import DEV_KEYS, Cipher, DataKeyProblem, is_token
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade

pytestmark = pytest.mark.usefixtures("program_loaded_once")

KEY = "a-test-key-that-is-long-enough-for-the-rule-0001"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
LOVED_ONE = "Zebulon"
# What the family writes, and words only the bot's replies hold: none may be readable at rest.
SAID = ["hi", "yes", "Ana", "1", "no", LOVED_ONE, "eastern", "9am", "7pm"]
CRISIS = "he took too many pills at the quarry and won't wake up"
SECRETS = [LOVED_ONE, "quarry", "pills", "Call 911", "naloxone", "CRAFT", '"profile"']


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    clock = Clock()
    engine = make_engine(db_url, [KEY])
    upgrade(engine)
    engine.dispose()
    built = build(Settings(database_url=db_url, data_keys=KEY), channels={}, clock=clock)
    for n, words in enumerate([*SAID, CRISIS]):
        clock.now = START + timedelta(minutes=n)
        built.runtime.handle_inbound(InboundMessage("sms", "+15550142", words, f"SM{n}"), clock.now)
    with built.ctx.db.begin() as db:  # a coach's note, which the audit log repeats
        db.add(
            m.AuditEntry(
                at=clock.now,
                staff_email="coach@example.org",
                action="alert.close",
                detail="spoke with her: he is at the quarry, safe",
            )
        )
    yield built
    built.engine.dispose()


def raw_rows(engine: Engine) -> str:
    """Every row of every table as the database hands it out, no column types applied: what a
    dump shows."""
    out = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            out += [repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {name}"))]
    return "\n".join(out)


def test_a_dump_shows_no_conversation_but_the_bot_reads_it(app: App) -> None:
    dump = raw_rows(app.engine)
    assert "+15550142" in dump and "Ana" in dump  # the dump is real: an address and a name show
    for secret in SECRETS:
        assert secret not in dump, f"{secret!r} is readable in the database"
    with app.ctx.db() as db:
        said = db.scalars(select(m.InboundMessage.text).order_by(m.InboundMessage.id)).all()
        told = " ".join(db.scalars(select(m.OutboundMessage.text)).all())
        family = db.scalars(select(m.Contact)).one()
    assert said == [*SAID, CRISIS]
    assert "Call 911" in told and LOVED_ONE in family.session
    assert family.loved_one == LOVED_ONE


def test_the_sqlite_file_holds_no_message_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'craftbot.db'}"
    built = build(Settings(database_url=url, data_keys=KEY), channels={}, clock=lambda: START)
    for n, words in enumerate([*SAID, CRISIS]):
        built.runtime.handle_inbound(InboundMessage("sms", "+15550143", words, f"SM{n}"), START)
    built.engine.dispose()  # the last connection checkpoints the WAL into the file
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("craftbot"))
    assert b"+15550143" in raw
    for secret in SECRETS:
        assert secret.encode() not in raw, f"{secret!r} is in the SQLite file"


def test_another_key_reads_nothing_and_says_which_setting(app: App) -> None:
    other = make_engine(app.engine.url.render_as_string(hide_password=False), ["b" * 40])
    try:
        with (
            pytest.raises(DataKeyProblem, match="DATA_KEYS no longer has"),
            other.connect() as conn,
        ):
            conn.execute(select(m.InboundMessage.text)).all()
    finally:
        other.dispose()


def test_the_console_search_still_finds_families_by_name_and_address(app: App) -> None:
    with app.ctx.db() as db:
        assert len(cq.search_families(db, "ana", 10)) == 1
        assert len(cq.search_families(db, "555014", 10)) == 1
        assert cq.search_families(db, "zeb", 10) == []  # the loved one's name: encrypted


def test_the_migration_encrypts_what_was_written_before(db_url: str) -> None:
    engine = make_engine(db_url, [KEY])
    try:
        from alembic import command

        cfg = alembic_config(db_url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004_questions")
            conn.execute(
                text(
                    "INSERT INTO contacts (id, channel, address, status, locale, loved_one, "
                    "paused_indefinitely, session, created_at, updated_at) VALUES (1, 'sms', "
                    "'+15550144', 'active', 'en', :lo, false, :s, :at, :at)"
                ),
                {"lo": LOVED_ONE, "s": '{"profile": {"loved_one": "Zebulon"}}', "at": START},
            )
            conn.execute(
                text(
                    "INSERT INTO inbound_messages (contact_id, channel, provider_id, text, "
                    "received_at) VALUES (1, 'sms', 'SM1', 'about the quarry', :at), "
                    "(1, 'sms', 'SM2', '', :at)"
                ),
                {"at": START},
            )
        upgrade(engine)
        dump = raw_rows(engine)
        assert LOVED_ONE not in dump and "quarry" not in dump
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT text FROM inbound_messages ORDER BY id")).scalars()
            assert [is_token(s) for s in stored] == [True, False]  # "" stays ""
            family = conn.execute(select(m.Contact.loved_one, m.Contact.session)).one()
            words = conn.execute(select(m.InboundMessage.text).order_by(m.InboundMessage.id))
            assert family == (LOVED_ONE, '{"profile": {"loved_one": "Zebulon"}}')
            assert words.scalars().all() == ["about the quarry", ""]
    finally:
        engine.dispose()


def test_data_keys_are_required_once_real_families_can_write(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'x.db'}"
    assert Settings(database_url=sqlite, data_keys="").data_key_list() == ()
    pg = Settings(database_url="postgresql://u:p@127.0.0.1/x", data_keys="")
    with pytest.raises(ConfigError, match="DATA_KEYS is not set"):
        pg.data_key_list()
    sms = Settings(
        database_url=sqlite,
        data_keys="",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="t" * 32,
        twilio_from_number="+15550100",
    )
    with pytest.raises(ConfigError, match="DATA_KEYS is not set"):
        sms.data_key_list()
    with pytest.raises(ConfigError, match="DATA_KEYS entry 2 is shorter than 32"):
        Settings(database_url=sqlite, data_keys=f"{KEY}, short").data_key_list()
    assert Settings(database_url=sqlite, data_keys=f"{KEY},{DEV_KEYS[0]}").data_key_list() == (
        KEY,
        DEV_KEYS[0],
    )


def test_a_new_key_first_still_reads_the_old_keys_tokens() -> None:
    old = Cipher([KEY]).encrypt("about the quarry")
    both = Cipher(["n" * 40, KEY])
    assert both.decrypt(old) == "about the quarry"
    assert not both.is_current(old)
    renewed = both.renew(old)
    assert both.is_current(renewed) and Cipher(["n" * 40]).decrypt(renewed) == "about the quarry"
