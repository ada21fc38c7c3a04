"""`craftbot keys rotate`: with DATA_KEYS=new,old every stored value ends under the new key, in
batches, with a progress line per column; a second run changes nothing; a missing old key or no
DATA_KEYS is one line and exit 2. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.app import build
from bot.channels.base import InboundMessage
from bot.cli.main import main
from bot.settings import Settings
from storage import models as m
from storage.crypto import Cipher, is_token
from storage.db import make_engine
from storage.migrate import upgrade
from storage.reencrypt import renew_batch
from storage.types import cipher_of

pytestmark = pytest.mark.usefixtures("program_loaded_once")

OLD = "the-old-key-that-was-in-use-for-a-year-000001"
NEW = "the-new-key-that-takes-over-from-today-000002"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SAID = ["hi", "yes", "Ana", "1", "no", "Jake", "eastern", "9am", "7pm"]


@pytest.fixture
def old_db(db_url: str) -> str:
    engine = make_engine(db_url, [OLD])
    upgrade(engine)
    engine.dispose()
    app = build(Settings(database_url=db_url, data_keys=OLD), channels={}, clock=lambda: START)
    for n, words in enumerate(SAID):
        app.runtime.handle_inbound(
            InboundMessage("sms", "+15550160", words, f"SM{n}"), START + timedelta(minutes=n)
        )
    app.engine.dispose()
    return db_url


def stored_texts(url: str) -> list[str]:
    engine = make_engine(url, [NEW])
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT text FROM inbound_messages")).scalars())
    finally:
        engine.dispose()


def test_rotation_moves_every_value_to_the_new_key(
    old_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", old_db)
    monkeypatch.setenv("DATA_KEYS", f"{NEW},{OLD}")
    assert main(["keys", "rotate", "--batch", "3"]) == 0
    out = capsys.readouterr().out
    assert "inbound_messages.text: 9 read, 9 re-encrypted" in out
    assert "contacts.session: 1 read, 1 re-encrypted" in out
    assert "the other DATA_KEYS entries can now be removed" in out
    assert "Jake" not in out

    only_new = Cipher([NEW])
    raw = stored_texts(old_db)
    assert all(is_token(t) and only_new.is_current(t) for t in raw)
    engine = make_engine(old_db, [NEW])  # the old key gone: everything still reads
    try:
        with engine.connect() as conn:
            said = conn.execute(select(m.InboundMessage.text).order_by(m.InboundMessage.id))
            assert said.scalars().all() == SAID
            assert "Jake" in conn.execute(select(m.Contact.session)).scalar_one()
    finally:
        engine.dispose()

    assert main(["keys", "rotate"]) == 0  # again: nothing left to do
    assert "done: 0 of" in capsys.readouterr().out


def test_the_old_key_removed_too_soon_is_one_line(
    old_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", old_db)
    monkeypatch.setenv("DATA_KEYS", NEW)
    assert main(["keys", "rotate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DATA_KEYS no longer has" in err[0], err


def test_without_data_keys_there_is_nothing_to_rotate_to(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    monkeypatch.delenv("DATA_KEYS", raising=False)
    assert main(["keys", "rotate"]) == 2
    err = capsys.readouterr().err
    assert "DATA_KEYS is not set" in err and "DATA_KEYS=new,old" in err


def test_a_value_the_bot_rewrites_during_a_batch_is_left_as_the_bot_wrote_it(
    old_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given rotation has read a batch, and the bot writes one of its rows before the update
    engine = make_engine(old_db, [NEW, OLD])
    bot = make_engine(old_db, [NEW, OLD])
    cipher = cipher_of(engine.dialect)
    first = {"done": False}
    renew = cipher.renew

    def renew_while_the_bot_writes(stored: str) -> str:
        if not first["done"] and engine.dialect.name == "postgresql":
            first["done"] = True  # PostgreSQL: another connection commits in the meantime
            with bot.begin() as conn:
                conn.execute(update(m.Contact).values(session='{"profile": {"loved_one": "Sam"}}'))
        return renew(stored)

    monkeypatch.setattr(cipher, "renew", renew_while_the_bot_writes)
    try:
        with engine.begin() as conn:
            batch = renew_batch(conn, cipher, "contacts", "session", 0, 10)
        with engine.connect() as conn:
            session = conn.execute(select(m.Contact.session)).scalar_one()
    finally:
        engine.dispose()
        bot.dispose()
    # then rotation did not overwrite the newer value (on SQLite the batch holds the write lock,
    # so nothing can come between; the rotated value is the old one)
    if first["done"]:
        assert batch.read == 1 and "Sam" in session
    else:
        assert "Jake" in session
