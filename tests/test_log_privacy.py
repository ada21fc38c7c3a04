"""Nothing personal or secret in any log line, at any level: an end-to-end run scanned line by line.

Web (uvicorn with its access log) and worker ticks, SMS, Telegram and email, a crisis with staff
alerts, a forged email, STOP, delivery reports and a metrics scrape, all logged at DEBUG as JSON
through `craftbot`'s own logging setup. Every line is then searched for each address, chat id,
message body (what families wrote and what the bot sent) and secret the run used.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli.log_config import configure
from tests.e2e import METRICS_TOKEN, Family, Providers, Stack, running_stack
from tests.standins.sendgrid_api import inbound_parse_form

pytestmark = pytest.mark.usefixtures("program_loaded_once")

PHONE, STAFF_PHONE = "+15550161", "+15550162"
CHAT, STAFF_CHAT = 7770161, "7770162"
EMAIL, STAFF_EMAIL, FORGED = "rosa.ml@example.org", "oncall.ml@example.org", "victim.ml@example.org"
SECRET_SETTINGS = (
    "twilio_auth_token",
    "telegram_bot_token",
    "telegram_webhook_secret",
    "sendgrid_api_key",
    "sendgrid_inbound_secret",
    "unsubscribe_signing_key",
    "metrics_token",
)


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, io.StringIO]]:
    buffer = io.StringIO()
    with (
        Providers.running() as providers,
        running_stack(
            providers,
            tmp_path,
            server_options={"log_config": None, "access_log": True, "log_level": "debug"},
            staff_alert_sms=STAFF_PHONE,
            staff_alert_email=STAFF_EMAIL,
            staff_alert_telegram=STAFF_CHAT,
            org_contact="call 555-0100",
            metrics_token=METRICS_TOKEN,
        ) as stack,
    ):
        # the production path: secrets come from the environment the process was given
        for name in SECRET_SETTINGS:
            monkeypatch.setenv(name.upper(), str(getattr(stack.settings, name)))
        handler = configure(verbose=True, service=True, json_format=True, stream=buffer)
        try:
            yield stack, buffer
        finally:
            logging.getLogger().removeHandler(handler)
            logging.getLogger().setLevel(logging.WARNING)


def converse(stack: Stack) -> list[str]:
    """A day of the program on every channel; returns every word the families wrote."""
    said: list[str] = []
    sms = Family(stack, "sms", PHONE, lambda t: stack.sms(PHONE, t))
    telegram = Family(stack, "telegram", str(CHAT), lambda t: stack.telegram(CHAT, t))
    email = Family(stack, "email", EMAIL, lambda t: stack.email(EMAIL, t))
    for family, first in ((sms, "hi there"), (telegram, "/start"), (email, "hello from Rosa")):
        for words in (first, "yes", "Rosalind Quintero"):
            family.say(words)
            said.append(words)
    crisis = "my son Tomasz took too many pills and wont wake up"
    sms.say(crisis)
    said.append(crisis)
    forged = inbound_parse_form(FORGED, "Sign me up please, Bartholomew")
    forged.update(dkim="none", SPF="pass")
    stack.http.post("/webhooks/sendgrid/inbound", files=_multipart(forged), headers=_auth(stack))
    said.append("Sign me up please, Bartholomew")
    stack.advance(timedelta(days=1))  # the worker: lessons, check-ins, the follow-up
    for family, stop in ((sms, "STOP"), (telegram, "/stop"), (email, "STOP")):
        family.say(stop)
    for row in stack.outbox(channel="sms"):
        if row.provider_id:
            stack.twilio_status(row.provider_id, "delivered", row.address)
    stack.sendgrid_events(
        [{"event": "delivered", "email": EMAIL, "sg_event_id": "ev-ml-1", "outbox_id": "1"}]
    )
    scrape = stack.http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200
    return said


def _multipart(form: dict[str, str]) -> dict[str, tuple[None, str]]:
    return {k: (None, v) for k, v in form.items()}


def _auth(stack: Stack) -> dict[str, str]:
    from tests.e2e import inbound_auth

    return inbound_auth(stack.settings.sendgrid_inbound_secret)


def test_no_log_line_names_anyone_or_carries_a_body_or_a_secret(
    logged: tuple[Stack, io.StringIO],
) -> None:
    stack, buffer = logged
    said = converse(stack)
    sent = [r.text for r in stack.outbox() if r.text]
    secrets = [str(getattr(stack.settings, n)) for n in SECRET_SETTINGS]
    needles = {
        *[PHONE, STAFF_PHONE, PHONE[1:], str(CHAT), STAFF_CHAT, EMAIL, STAFF_EMAIL, FORGED],
        *said,
        *sent,
        *(line.strip() for text in sent for line in text.splitlines() if len(line.strip()) > 30),
        *secrets,
        "Rosalind",
        "Tomasz",
        "Bartholomew",
    }
    needles.discard("yes")  # a word every log could hold; the longer bodies cover answers

    lines = buffer.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object

    # the run was logged at DEBUG, by our code, uvicorn's access log and the worker
    loggers = {e["logger"] for e in entries}
    assert {"uvicorn.access", "bot.web.webhooks"} <= loggers, loggers
    assert any(e["level"] == "DEBUG" for e in entries)
    assert len(entries) > 50
    leaks = [(needle, line) for line in lines for needle in needles if needle and needle in line]
    assert leaks == []


@pytest.mark.parametrize(
    "path",
    [
        "/mydata/Xq3vB9kLmN0pQrStUvWx-_yZ12",  # a family's single-use data link
        "/console/welcome/Xq3vB9kLmN0pQrStUvWx-_yZ12",  # a staff account's set-a-password link
        "/unsubscribe/WzEsImFiYyJd.Xq3vB9kLmN0pQrStUvWx",
        "/console/families?q=%2B15550163",  # the console's family search, as a browser sends it
        "/console/families?q=%2B1+555+0163",
        "/console/families?q=rosa.ml%40example.org",
        "/console/families?q=Rosalind+Quintero",
        "/no/such/path/%2B15550163",
        "/no/such/path/rosa.ml%40example.org",
    ],
)
def test_an_access_line_keeps_no_token_and_no_search_words(path: str) -> None:
    """uvicorn's access line is the request line: the tokens of link routes are in its path, and a
    console search's words (a phone number, an email address, a name) are in its query, percent-
    encoded where the redactor's plain patterns do not see them."""
    buffer = io.StringIO()
    handler = configure(service=True, json_format=False, secrets=(), stream=buffer)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200
        )
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    line = buffer.getvalue()
    assert '"GET /' in line
    for needle in ("Xq3vB9kLmN0pQrStUvWx", "5550163", "555+0163", "rosa.ml", "Rosalind"):
        assert needle not in line, line


@pytest.mark.parametrize("json_format", [False, True])
def test_an_access_line_keeps_no_client_address(json_format: bool) -> None:
    """The access line began with the IP address and port of whoever called: a family following
    an unsubscribe link, a coach at the console."""
    buffer = io.StringIO()
    handler = configure(service=True, json_format=json_format, secrets=(), stream=buffer)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "203.0.113.57:51234", "GET", "/console/", "1.1", 200
        )
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    line = buffer.getvalue()
    message = json.loads(line)["message"] if json_format else line
    assert '"GET /console/ HTTP/1.1" 200' in message and "203.0.113" not in line, line


def test_a_database_error_names_none_of_its_statements_values(tmp_path: Path) -> None:
    """A 500's traceback and a retried record step log the database error whole; SQLAlchemy's
    text of it listed the statement's parameters: addresses and chat ids, which no pattern of the
    redactor knows (a chat id is a bare number)."""
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/errors.db")
    with engine.begin() as db:
        db.execute(text("CREATE TABLE t (address TEXT UNIQUE)"))
        db.execute(text("INSERT INTO t VALUES (:a)"), {"a": str(CHAT)})
    with pytest.raises(Exception) as caught, engine.begin() as db:
        db.execute(text("INSERT INTO t VALUES (:a)"), {"a": str(CHAT)})
    engine.dispose()
    assert "UNIQUE" in str(caught.value)
    assert str(CHAT) not in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        'duplicate key value violates unique constraint "uq_contact"\n'
        f"DETAIL:  Key (channel, address)=(telegram, {CHAT}) already exists.",
        'null value in column "locale" violates not-null constraint\n'
        f"DETAIL:  Failing row contains (12, telegram, {CHAT}, null, active).",
    ],
)
def test_postgresqls_own_error_details_keep_no_values(error: str) -> None:
    buffer = io.StringIO()
    handler = configure(service=True, json_format=True, secrets=(), stream=buffer)
    try:
        logging.getLogger("bot.runtime.outbox.recorder").error("recording failed: %s", error)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    line = buffer.getvalue()
    assert "<values>" in line and str(CHAT) not in line, line


def test_the_encryption_and_hash_keys_are_redacted_like_every_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DATA_KEYS (each of its keys) and ADDRESS_HASH_KEY were not among the secrets the redactor
    was given from the environment."""
    new, old = "new-data-key-0123456789abcdefghijkl", "old-data-key-0123456789abcdefghijkl"
    hash_key = "address-hash-key-0123456789abcdefghij"
    monkeypatch.setenv("DATA_KEYS", f"{new}, {old}")
    monkeypatch.setenv("ADDRESS_HASH_KEY", hash_key)
    buffer = io.StringIO()
    handler = configure(service=True, json_format=True, stream=buffer)
    try:
        logging.getLogger("bot.cli").warning("keys: %s / %s / %s", new, old, hash_key)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    line = buffer.getvalue()
    assert line.count("<secret>") == 3 and "0123456789" not in line, line
