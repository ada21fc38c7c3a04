"""A hostile client against the real web app (uvicorn, real SDKs, provider stand-ins).

Unsubscribe links that only their own family can use; forged email senders not believed; NUL
characters and hostile Telegram shapes that never cost a message or a 500; internal errors that
stay 500s; captions and subjects read like words; health checks that never take the write lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from bot.runtime.outbox.unsubscribe import token_for
from bot.settings import ConfigError, Settings
from storage import models as m
from tests.e2e import (
    INBOUND_SECRET,
    TELEGRAM_SECRET,
    UNSUBSCRIBE_KEY,
    Providers,
    Stack,
    inbound_auth,
    multipart,
    running_stack,
)
from tests.standins.sendgrid_api import inbound_parse_form
from tests.standins.signing import telegram_headers
from tests.standins.telegram_api import text_update

pytestmark = pytest.mark.usefixtures("program_loaded_once")


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with Providers.running() as running:
        yield running


@pytest.fixture(scope="module")
def stack(providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(providers, tmp_path_factory.mktemp("hardening")) as running:
        yield running


def telegram_post(stack: Stack, payload: Any) -> httpx.Response:
    return stack.http.post(
        "/webhooks/telegram",
        content=json.dumps(payload),
        headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
    )


def email_post(stack: Stack, form: dict[str, str]) -> httpx.Response:
    return stack.http.post(
        "/webhooks/sendgrid/inbound", files=multipart(form), headers=inbound_auth()
    )


def joined_by_email(stack: Stack, address: str) -> m.Contact:
    assert stack.email(address, "hello").status_code == 200
    stack.settle()
    contact = stack.contact("email", address)
    assert contact is not None
    return contact


# --- item 1: unsubscribe links ----------------------------------------------------------------


def list_unsubscribe(stack: Stack, address: str) -> str:
    mail = [r for r in stack.providers.sendgrid.received if address in r["to"]][-1]
    return str(mail["headers"]["List-Unsubscribe"]).strip("<>")


def test_a_link_unsubscribes_its_own_family_and_no_other(stack: Stack) -> None:
    # given two families by email, each sent the consent question with its own link
    ana, lee = (joined_by_email(stack, f"{n}.unsub@example.org") for n in ("ana", "lee"))
    link = list_unsubscribe(stack, "ana.unsub@example.org")
    path = httpx.URL(link).path

    # when a link scanner opens Ana's link, and then her mail client posts it (RFC 8058)
    page = stack.http.get(path)
    assert page.status_code == 200 and stack.contact("email", ana.address).status != "opted_out"  # type: ignore[union-attr]
    done = stack.http.post(path)

    # then Ana is out, with her consent recorded, and Lee is untouched
    assert done.status_code == 200
    assert stack.contact("email", ana.address).status == "opted_out"  # type: ignore[union-attr]
    assert stack.consents("email", ana.address)[-1] == (
        "opt_out",
        "self",
        "one-click unsubscribe link",
    )
    assert stack.contact("email", lee.address).status != "opted_out"  # type: ignore[union-attr]


def test_links_cannot_be_made_without_the_key_of_their_own(stack: Stack) -> None:
    # given a family, and what an attacker knows: sequential ids and the old, public derivation
    family = joined_by_email(stack, "target.unsub@example.org")
    old_key = ("craftbot-unsubscribe:" + INBOUND_SECRET).encode()
    old_style = hmac.new(old_key, str(family.id).encode(), hashlib.sha256).hexdigest()[:32]
    forged_paths = [
        f"/unsubscribe/{family.id}/{old_style}",  # the old link's shape and key
        f"/unsubscribe/{old_style}",
        *(f"/unsubscribe/{i}" for i in range(1, 40)),  # walking the ids
    ]
    other = stack.settings.model_copy(update={"unsubscribe_signing_key": "x" * 40})
    forged_paths.append(f"/unsubscribe/{token_for(other, family.id, family.address)}")
    secrets_reused = stack.settings.model_copy(update={"unsubscribe_signing_key": INBOUND_SECRET})
    forged_paths.append(f"/unsubscribe/{token_for(secrets_reused, family.id, family.address)}")
    # a genuine key, but a token made for another channel, or for another purpose
    forged_paths.append(
        f"/unsubscribe/{token_for(stack.settings, family.id, family.address, channel='sms')}"
    )

    opt_outs = stack.count(m.Consent, m.Consent.action == "opt_out")

    # when each is posted
    answers = {p: stack.http.post(p).status_code for p in forged_paths}

    # then every one is 404 and nobody was opted out
    assert set(answers.values()) == {404}, answers
    assert stack.count(m.Consent, m.Consent.action == "opt_out") == opt_outs
    assert stack.contact("email", family.address).status != "opted_out"  # type: ignore[union-attr]


@pytest.mark.parametrize("contact_id", [2**63, 2**70, 10**30, 0, -1, -(2**63) - 1])
def test_a_genuine_link_naming_an_id_no_row_can_have_is_404(stack: Stack, contact_id: int) -> None:
    """Signed with the key, so only the deployment makes one, but a valid signature is no reason
    for a 500: an id past 64 bits reached the database (SQLite's OverflowError)."""
    path = f"/unsubscribe/{token_for(stack.settings, contact_id, 'nobody.unsub@example.org')}"
    assert (stack.http.get(path).status_code, stack.http.post(path).status_code) == (404, 404)


def test_a_link_does_not_fit_a_family_that_got_the_same_id_later(stack: Stack) -> None:
    # given a family's link, then the family removed and its id given to someone else
    family = joined_by_email(stack, "gone.unsub@example.org")
    path = httpx.URL(list_unsubscribe(stack, family.address)).path
    with stack.app.ctx.db.begin() as db:
        db.execute(
            update(m.Contact)
            .where(m.Contact.id == family.id)
            .values(address="newcomer.unsub@example.org")
        )

    # when the old link is followed
    answer = stack.http.post(path)

    # then it does not fit the newcomer: 404, and they stay in
    assert answer.status_code == 404
    newcomer = stack.contact("email", "newcomer.unsub@example.org")
    assert newcomer is not None and newcomer.status != "opted_out"


def test_a_link_for_a_family_on_another_channel_is_refused(stack: Stack) -> None:
    # given an SMS family, and an email-channel token for its id (as if signed by mistake)
    stack.sms("+15550177", "hi")
    stack.settle()
    family = stack.contact("sms", "+15550177")
    assert family is not None
    path = f"/unsubscribe/{token_for(stack.settings, family.id, family.address)}"

    # then the email link route does not opt out an SMS family
    assert stack.http.post(path).status_code == 404
    assert stack.contact("sms", "+15550177").status != "opted_out"  # type: ignore[union-attr]


def test_the_signing_key_is_its_own_required_setting() -> None:
    email = {
        "sendgrid_api_key": "SG.key",
        "sendgrid_from_email": "coach@example.org",
        "sendgrid_inbound_secret": INBOUND_SECRET,
        "org_postal_address": "PO Box 0123",
    }
    with pytest.raises(ConfigError, match="UNSUBSCRIBE_SIGNING_KEY"):
        Settings(**email).channel_enabled("email")
    for key, why in [("short", "shorter than 32"), (INBOUND_SECRET * 3, "the same as")]:
        values = {**email, "unsubscribe_signing_key": key}
        if why == "the same as":
            values["sendgrid_inbound_secret"] = key
        with pytest.raises(ConfigError, match=why):
            Settings(**values).check_signing_keys()
    Settings(**email, unsubscribe_signing_key=UNSUBSCRIBE_KEY).check_signing_keys()


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"telegram_webhook_secret": "abc"}, "TELEGRAM_WEBHOOK_SECRET is shorter than 16"),
        ({"sendgrid_inbound_secret": "x"}, "SENDGRID_INBOUND_SECRET is shorter than 16"),
        (
            {"telegram_webhook_secret": "one-secret-for-both-0123", "sendgrid_inbound_secret": ""},
            None,
        ),
        (
            {
                "telegram_webhook_secret": "one-secret-for-both-0123",
                "sendgrid_inbound_secret": "one-secret-for-both-0123",
            },
            "TELEGRAM_WEBHOOK_SECRET is the same as SENDGRID_INBOUND_SECRET",
        ),
    ],
)
def test_a_webhook_secret_is_long_and_its_own(values: dict[str, str], says: str | None) -> None:
    """The Telegram secret token and the Inbound Parse password are all that proves a webhook is
    the provider's: a one-letter TELEGRAM_WEBHOOK_SECRET was accepted, and a stranger guessing
    it could write as any family (opt them out by a forged block, raise false alerts)."""
    settings = Settings(**values)
    if says is None:
        settings.check_signing_keys()
    else:
        with pytest.raises(ConfigError, match=says):
            settings.check_signing_keys()


def test_the_address_hash_key_is_required_once_real_families_can_write(tmp_path: Path) -> None:
    """DELETE keeps an erased family's opt-out as an HMAC of the address; without
    ADDRESS_HASH_KEY it was keyed with a constant in the source, so anyone with the table could
    match it against a list of phone numbers. Like DATA_KEYS: required once a channel or
    PostgreSQL is on, a development key only for `make run` and tests."""
    from bot.app import build

    sqlite = f"sqlite:///{tmp_path / 'x.db'}"
    sms = {
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": "t" * 32,
        "twilio_from_number": "+15550100",
    }
    for values in (
        {"database_url": sqlite, **sms},
        {"database_url": "postgresql://u:p@127.0.0.1:1/x"},
    ):
        with pytest.raises(ConfigError, match="ADDRESS_HASH_KEY is not set"):
            build(Settings(**values, address_hash_key=""))
    Settings(database_url=sqlite, address_hash_key="").check_address_hash_key()  # make run
    Settings(database_url=sqlite, **sms, address_hash_key="k" * 40).check_address_hash_key()


def test_routes_of_a_channel_that_is_off_do_not_exist(providers: Providers, tmp_path: Path) -> None:
    # given only Telegram configured
    with running_stack(
        providers,
        tmp_path,
        twilio_account_sid="",
        twilio_auth_token="",
        twilio_from_number="",
        sendgrid_api_key="",
        sendgrid_from_email="",
        sendgrid_inbound_secret="",
        unsubscribe_signing_key="",
        org_postal_address="",
    ) as only_telegram:
        paths = [
            "/webhooks/twilio/sms",
            "/webhooks/twilio/status",
            "/webhooks/sendgrid/inbound",
            "/webhooks/sendgrid/events",
            "/unsubscribe/anything",
        ]
        # then the other channels' doors are not there at all, and Telegram's is
        assert {p: only_telegram.http.post(p).status_code for p in paths} == dict.fromkeys(
            paths, 404
        )
        assert only_telegram.telegram(5550178, "/start").status_code == 200


# --- item 8: the inbound secret is never in a path ----------------------------------------------


def test_the_inbound_secret_as_a_path_segment_is_not_a_way_in(stack: Stack) -> None:
    form = inbound_parse_form("pathsecret@example.org", "hello")
    answer = stack.http.post(f"/webhooks/sendgrid/inbound/{INBOUND_SECRET}", files=multipart(form))
    query = stack.http.post(
        "/webhooks/sendgrid/inbound", params={"token": INBOUND_SECRET}, files=multipart(form)
    )
    assert (answer.status_code, query.status_code) == (404, 403)
    assert stack.contact("email", "pathsecret@example.org") is None


# --- item 2: forged email senders ----------------------------------------------------------------


FORGED = {
    "dkim fails, spf fails": ("{@example.org : fail}", "fail"),
    "no dkim, spf passes for the envelope": ("none", "pass"),
    "dkim passes for another domain": ("{@attacker.example.net : pass}", "pass"),
    "no fields at all": ("", ""),
}


@pytest.mark.parametrize(("dkim", "spf"), FORGED.values(), ids=FORGED.keys())
def test_a_forged_sender_cannot_sign_up_answer_opt_in_or_raise_an_alert(
    stack: Stack, dkim: str, spf: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given a family who stopped, and a stranger's address never seen
    family = joined_by_email(stack, f"forged.{abs(hash(dkim)) % 10**6}@example.org")
    assert stack.email(family.address, "STOP").status_code == 200
    stack.settle()
    stranger = f"stranger.{abs(hash(dkim)) % 10**6}@example.org"
    before = {t.__tablename__: stack.count(t) for t in (m.InboundMessage, m.OutboundMessage)}
    alerts = stack.count(m.Alert)

    # when forged mail claims to be them: opting back in, a crisis, a sign-up
    caplog.set_level(logging.INFO)
    posts = [
        email_post(stack, {**inbound_parse_form(who, words), "dkim": dkim, "SPF": spf})
        for who, words in [
            (family.address, "START"),
            (family.address, "he is not breathing"),
            (stranger, "hello, sign me up"),
        ]
    ]
    stack.settle()

    # then each is acknowledged (SendGrid must not retry) and nothing at all happened
    assert [p.status_code for p in posts] == [200, 200, 200]
    assert stack.contact("email", family.address).status == "opted_out"  # type: ignore[union-attr]
    assert stack.contact("email", stranger) is None
    assert stack.count(m.Alert) == alerts
    after = {t.__tablename__: stack.count(t) for t in (m.InboundMessage, m.OutboundMessage)}
    assert after == before
    # logged, and the log names no one
    assert "could not be verified" in caplog.text and "crisis words" in caplog.text
    assert family.address not in caplog.text and stranger not in caplog.text
    assert "example.org" not in caplog.text and "breathing" not in caplog.text


def test_a_sender_with_an_aligned_dkim_signature_is_believed(stack: Stack) -> None:
    form = inbound_parse_form("real@mail.example.org", "hello")
    form.update(dkim="{@example.org : pass, @sendgrid.example.net : pass}", SPF="softfail")
    assert email_post(stack, form).status_code == 200
    stack.settle()
    assert stack.contact("email", "real@mail.example.org") is not None


# --- item 7: NUL and other text a database cannot keep -------------------------------------------


def test_a_nul_character_costs_no_message_and_no_crisis_reply(stack: Stack) -> None:
    crisis_text = "he is not breathing\x00"
    answer = stack.telegram(5550179, crisis_text)
    stack.settle()
    assert answer.status_code == 200
    assert stack.outbox(address="5550179")[0].message_id == "crisis.overdose.US"
    with stack.app.ctx.db() as db:
        stored = db.scalar(select(m.InboundMessage.text).order_by(m.InboundMessage.id.desc()))
    assert stored == "he is not breathing"


# --- item 9: hostile shapes, and our own errors -------------------------------------------------


HOSTILE_TELEGRAM: dict[str, Any] = {
    "message is a string": {"update_id": 8001, "message": "nope"},
    "text is a number": {
        "update_id": 8002,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": 5550180, "type": "private"},
            "text": 123,
        },
    },
    "lone surrogate": {
        "update_id": 8003,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": 5550181, "type": "private"},
            "text": "a\ud800",
        },
    },
    "no update_id": {"message": {}},
    "user without is_bot (a recorded shape)": {
        "update_id": 8004,
        "message": {
            "message_id": 1,
            "date": 1454119029,
            "from": {"id": 5550182, "first_name": "Sam"},
            "chat": {"id": 5550182, "type": "private"},
            "text": "/start",
        },
    },
}


@pytest.mark.parametrize("payload", HOSTILE_TELEGRAM.values(), ids=HOSTILE_TELEGRAM.keys())
def test_an_authenticated_telegram_update_is_always_answered_200(
    stack: Stack, payload: Any
) -> None:
    assert telegram_post(stack, payload).status_code == 200


def test_a_recorded_update_the_library_refuses_is_still_answered(stack: Stack) -> None:
    telegram_post(stack, HOSTILE_TELEGRAM["user without is_bot (a recorded shape)"])
    stack.settle()
    # (a bare /start with no app language tells no language: joining asks in both first)
    assert [r.message_id for r in stack.outbox(address="5550182")] == ["onboarding.ask_language"]


def test_deep_nesting_is_refused_as_not_json_never_a_500(stack: Stack) -> None:
    body = '{"update_id": 1, "message": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = stack.http.post(
        "/webhooks/telegram",
        content=body,
        headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400


def test_a_sendgrid_event_with_a_26_digit_id_is_no_500(stack: Stack) -> None:
    answer = stack.sendgrid_events(
        [
            {
                "event": "delivered",
                "sg_event_id": "e26",
                "outbox_id": "1" * 26,
                "email": "x@example.org",
            }
        ]
    )
    assert answer.status_code == 200


def test_our_own_error_is_a_500_not_a_silent_400(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a bug inside the runtime (the catch-all used to turn this into a 400 nobody retries)
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(stack.app.runtime, "handle_inbound_many", broken)
    monkeypatch.setattr(stack.app.runtime, "handle_inbound", broken)

    # then the provider sees a 5xx and will deliver the message again
    # (on a connection of its own: uvicorn closes a connection after a 500, and the module's
    # shared client would otherwise meet that closed connection on its next request)
    with httpx.Client(base_url=stack.url, timeout=30) as own:
        answer = own.post(
            "/webhooks/telegram",
            content=json.dumps(text_update(8900, 5550183, "hello")),
            headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
        )
    assert answer.status_code == 500


def test_a_block_on_telegram_opts_the_family_out(stack: Stack) -> None:
    assert stack.telegram(5550184, "/start").status_code == 200
    stack.settle()
    bot = {"id": 4242, "is_bot": True, "first_name": "craftbot"}
    blocked = {
        "update_id": 8100,
        "my_chat_member": {
            "chat": {"id": 5550184, "type": "private", "first_name": "Sam"},
            "from": {"id": 5550184, "is_bot": False, "first_name": "Sam"},
            "date": 1772463600,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        },
    }
    assert telegram_post(stack, blocked).status_code == 200
    assert stack.contact("telegram", "5550184").status == "opted_out"  # type: ignore[union-attr]
    assert stack.consents("telegram", "5550184")[-1] == ("opt_out", "self", "blocked the bot")


# --- issue 11 item 7: captions and subjects -----------------------------------------------------


def photo_update(update_id: int, chat_id: int, caption: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
        "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
        "date": int(time.time()),
        "photo": [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 90}],
    }
    if caption is not None:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def test_a_captioned_photo_is_read_crisis_first_and_stored(stack: Stack) -> None:
    assert (
        telegram_post(stack, photo_update(8200, 5550185, "he is not breathing")).status_code == 200
    )
    stack.settle()
    assert stack.outbox(address="5550185")[0].message_id == "crisis.overdose.US"
    family = stack.contact("telegram", "5550185")
    assert family is not None
    assert stack.count(m.Alert, m.Alert.contact_id == family.id) == 1
    with stack.app.ctx.db() as db:
        stored = db.scalar(
            select(m.InboundMessage.text).where(m.InboundMessage.provider_id == "8200")
        )
    assert stored == "he is not breathing"


def test_a_subject_the_family_wrote_is_read_crisis_first(stack: Stack) -> None:
    family = joined_by_email(stack, "subject@example.org")
    assert stack.email(family.address, "please help", subject="he overdosed").status_code == 200
    stack.settle()
    assert stack.outbox(address=family.address)[-1].kind == "crisis" or any(
        r.message_id.startswith("crisis.overdose") for r in stack.outbox(address=family.address)
    )
    with stack.app.ctx.db() as db:
        stored = db.scalar(
            select(m.InboundMessage.text)
            .where(m.InboundMessage.contact_id == family.id)
            .order_by(m.InboundMessage.id.desc())
        )
    assert stored == "he overdosed\n\nplease help"


@pytest.mark.parametrize(
    ("locale", "opening"), [("en", "I can only read text"), ("es", "Solo puedo")]
)
def test_media_alone_gets_a_short_reply_in_the_familys_language(
    stack: Stack, locale: str, opening: str
) -> None:
    chat = 5550186 if locale == "en" else 5550187
    stack.telegram(chat, "/start")
    stack.settle()
    with stack.app.ctx.db.begin() as db:
        db.execute(update(m.Contact).where(m.Contact.address == str(chat)).values(locale=locale))
    assert telegram_post(stack, photo_update(8300 + chat % 10, chat, None)).status_code == 200
    stack.settle()
    last = stack.outbox(address=str(chat))[-1]
    assert last.message_id == "system.media_only" and last.text.startswith(opening)


# --- item 11: health --------------------------------------------------------------------------


def test_healthz_and_readyz_never_wait_for_the_write_lock(stack: Stack) -> None:
    # given a long write holding SQLite's one writer
    holding, release = threading.Event(), threading.Event()

    def long_write() -> None:
        with stack.app.ctx.db.begin() as db:
            db.execute(text("UPDATE contacts SET updated_at = updated_at WHERE id < 0"))
            holding.set()
            release.wait(20)

    writer = threading.Thread(target=long_write)
    writer.start()
    assert holding.wait(5)
    try:
        # when the platform and the load balancer ask
        started = time.monotonic()
        health, ready = stack.http.get("/healthz"), stack.http.get("/readyz")
        took = time.monotonic() - started
    finally:
        release.set()
        writer.join()

    # then both answer at once, and the database is reachable for reading
    assert (health.status_code, health.json()) == (200, {"ok": True})
    assert ready.status_code == 200 and took < 2
    assert ready.json() == {
        "ready": True,
        "database": True,
        "program": True,
        "channels": ["email", "sms", "telegram"],
    }


def test_readyz_names_what_failed_without_the_database_error_text(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime import runtime

    def down(_: Any) -> None:
        raise OSError("could not connect to server at 10.0.0.5 user=craftbot")

    monkeypatch.setattr(runtime, "ping_read_only", down)
    answer = stack.http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["database"] is False
    assert "10.0.0.5" not in answer.text and "craftbot" not in answer.text
    assert stack.http.get("/healthz").status_code == 200
