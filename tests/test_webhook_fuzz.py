"""Fuzzing every webhook with valid credentials and hostile bodies: no answer is ever 500 or above.

The real app under uvicorn, each request signed or authenticated as its provider would: deep
nesting, lone surrogates, NUL, huge ids, wrong types, missing and extra fields, broken encodings.
Hypothesis runs derandomised under CI=true (tests/conftest.py), so CI sees the same examples.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from storage import models as m
from tests.e2e import (
    TELEGRAM_SECRET,
    UNSUBSCRIBE_KEY,
    Providers,
    Stack,
    inbound_auth,
    running_stack,
)
from tests.standins.signing import telegram_headers, twilio_headers

pytestmark = pytest.mark.usefixtures("program_loaded_once")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        Providers.running() as providers,
        running_stack(providers, tmp_path_factory.mktemp("fuzz"), max_body_bytes=200_000) as s,
    ):
        yield s


def ok(answer: httpx.Response) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text[:200])


# --- values ---------------------------------------------------------------------------------------
huge_ints = st.one_of(
    st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 2**31, 2**63, 10**26, 10**40])
)
hostile_text = st.one_of(
    st.text(max_size=40),  # includes lone surrogates, NUL and every other code point
    st.sampled_from(["he is not breathing\x00", "\ud800", "a\udfffb", "STOP\x00", "/start@bot x"]),
)
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(), hostile_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=20,
)


def sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, json_values)


chats = st.fixed_dictionaries(
    {
        "id": sometimes(huge_ints),
        "type": sometimes(st.sampled_from(["private", "group", "channel"])),
    }
)
messages = st.fixed_dictionaries(
    {"chat": sometimes(chats)},
    optional={
        "message_id": sometimes(huge_ints),
        "date": sometimes(huge_ints),
        "from": json_values,
        "text": sometimes(hostile_text),
        "caption": sometimes(hostile_text),
        "photo": json_values,
        "voice": json_values,
        "sticker": json_values,
        "entities": json_values,
        "reply_to_message": json_values,
    },
)
updates = st.one_of(
    st.fixed_dictionaries(
        {"update_id": sometimes(huge_ints)},
        optional={
            "message": sometimes(messages),
            "edited_message": sometimes(messages),
            "channel_post": sometimes(messages),
            "my_chat_member": json_values,
            "callback_query": json_values,
        },
    ),
    json_values,
)
# Form fields as a provider posts them: text that survives UTF-8 encoding, NUL included.
form_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
form_values = st.one_of(
    form_text,
    st.sampled_from(["", "0", "1", "+15550199", "2" * 30, "he is not breathing\x00", "STOP"]),
)


# --- the webhooks ---------------------------------------------------------------------------------
@FUZZ
@given(body=updates)
def test_telegram(stack: Stack, body: Any) -> None:
    ok(
        stack.http.post(
            "/webhooks/telegram",
            content=json.dumps(body),
            headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
        )
    )


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), st.integers(1, 50_000)))
def test_telegram_raw_bytes_and_deep_nesting(stack: Stack, raw: bytes | int) -> None:
    body = raw if isinstance(raw, bytes) else ("[" * raw + "]" * raw).encode()
    ok(
        stack.http.post(
            "/webhooks/telegram",
            content=body,
            headers={**telegram_headers(TELEGRAM_SECRET), "Content-Type": "application/json"},
        )
    )


def signed_twilio(stack: Stack, path: str, form: dict[str, str]) -> httpx.Response:
    url = f"{stack.url}{path}"
    return stack.http.post(
        url, data=form, headers=twilio_headers(stack.settings.twilio_auth_token, url, form)
    )


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "From": form_values,
            "Body": form_values,
            "MessageSid": form_values,
            "NumMedia": form_values,
            "OptOutType": form_values,
            "To": form_values,
        },
    ),
    extra=st.dictionaries(form_text, form_values, max_size=3),
)
def test_twilio_sms(stack: Stack, form: dict[str, str], extra: dict[str, str]) -> None:
    ok(signed_twilio(stack, "/webhooks/twilio/sms", {**extra, **form}))


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "MessageSid": form_values,
            "MessageStatus": form_values,
            "ErrorCode": form_values,
        },
    )
)
def test_twilio_status(stack: Stack, form: dict[str, str]) -> None:
    ok(signed_twilio(stack, "/webhooks/twilio/status", form))


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "from": st.one_of(
                form_values, st.just("fuzz@example.org"), st.just("x" * 300 + "@a.b")
            ),
            "text": form_values,
            "html": form_values,
            "subject": form_values,
            "headers": form_values,
            "dkim": st.one_of(form_values, st.just("{@example.org : pass}")),
            "SPF": form_values,
            "attachments": form_values,
            "email": form_values,
        },
    )
)
def test_sendgrid_inbound(stack: Stack, form: dict[str, str]) -> None:
    files = {k: (None, v.encode("utf-8")) for k, v in form.items()}
    ok(stack.http.post("/webhooks/sendgrid/inbound", files=files or None, headers=inbound_auth()))


mime_types = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "multipart/mixed",
        "multipart/alternative; boundary=b",
        "message/rfc822",
        "application/octet-stream",
        "text/plain; charset=unknown-8bit",
        "text/plain; charset=hex",
        'text/plain; charset="',
        "text/plain; charset*=utf-8''%ff",
        "text/html; charset=utf-16",
    ]
)
transfer_encodings = st.sampled_from(
    ["", "base64", "quoted-printable", "8bit", "x-uuencode", "bogus"]
)
mime_bodies = st.one_of(
    form_text,
    st.sampled_from(["=ZZ", "!!!", "begin 644 x\n!!!\nend", "--b\nContent-Type: text/plain\n\nhi"]),
)


@FUZZ
@given(kind=mime_types, encoding=transfer_encodings, body=mime_bodies, subject=form_text)
def test_sendgrid_inbound_raw_mime(
    stack: Stack, kind: str, encoding: str, body: str, subject: str
) -> None:
    """Inbound Parse's raw mode posts the whole MIME message: every charset and encoding a sender
    can name is read or refused, never a 500 (an unknown charset was one)."""
    raw = (
        f"From: fuzz.raw@example.org\nSubject: {subject}\nContent-Type: {kind}\n"
        + (f"Content-Transfer-Encoding: {encoding}\n" if encoding else "")
        + f"\n{body}"
    )
    form = {"from": "fuzz.raw@example.org", "email": raw, "dkim": "{@example.org : pass}"}
    files = {k: (None, v.encode("utf-8")) for k, v in form.items()}
    ok(stack.http.post("/webhooks/sendgrid/inbound", files=files, headers=inbound_auth()))


@FUZZ
@given(
    body=st.one_of(st.lists(st.dictionaries(hostile_text, json_values, max_size=6)), json_values)
)
def test_sendgrid_events(stack: Stack, body: Any) -> None:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    ok(
        stack.http.post(
            "/webhooks/sendgrid/events",
            content=raw,
            headers={
                **stack.providers.signer.headers(raw, stamp),
                "Content-Type": "application/json",
            },
        )
    )


@FUZZ
@given(
    token=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
        min_size=1,
        max_size=500,
    )
)
def test_link_routes(stack: Stack, token: str) -> None:
    """The routes whose path is a token: one-click unsubscribe and MYDATA's single-use link."""
    for route in ("/unsubscribe", "/mydata"):
        path = f"{route}/{quote(token, safe='')}"
        ok(stack.http.post(path))
        ok(stack.http.get(path))


@FUZZ
@given(
    payload=st.one_of(json_values, st.tuples(huge_ints, hostile_text).map(list)),
    channel=st.sampled_from(["email", "sms", "telegram", "mydata"]),
)
def test_unsubscribe_links_signed_with_the_key(stack: Stack, payload: Any, channel: str) -> None:
    """A link signed with the deployment's own key whose payload is anything at all (huge or
    negative ids, wrong types, another channel's salt): a 404 or the page, never a 500 (an id
    past 64 bits was one), and nobody opted out unless the link fits a family."""
    signer = URLSafeSerializer(UNSUBSCRIBE_KEY, salt=f"craftbot/unsubscribe/{channel}")
    try:
        token = signer.dumps(payload)
    except (TypeError, ValueError):
        return  # not serialisable: no link can carry it
    path = f"/unsubscribe/{quote(str(token), safe='')}"
    ok(stack.http.post(path))
    ok(stack.http.get(path))


# --- forgeries: hostile bodies with credentials that are not the provider's -------------------
STORED = (m.InboundMessage, m.Contact, m.OutboundMessage, m.Consent, m.ProviderEvent, m.Alert)
wrong_secrets = st.one_of(
    st.none(),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
    st.sampled_from([TELEGRAM_SECRET.upper(), TELEGRAM_SECRET + "x", TELEGRAM_SECRET[:-1]]),
)


def footprint(stack: Stack) -> tuple[int, ...]:
    return tuple(stack.count(model) for model in STORED)


@FUZZ
@given(
    route=st.sampled_from(
        [
            "/webhooks/twilio/sms",
            "/webhooks/twilio/status",
            "/webhooks/telegram",
            "/webhooks/sendgrid/inbound",
            "/webhooks/sendgrid/events",
        ]
    ),
    body=updates,
    form=st.dictionaries(form_text, form_values, max_size=5),
    secret=wrong_secrets,
)
def test_a_forgery_with_a_hostile_body_is_refused_and_stores_nothing(
    stack: Stack, route: str, body: Any, form: dict[str, str], secret: str | None
) -> None:
    """Whatever the body, a request without the provider's credentials (a wrong Twilio
    signature, Telegram secret, basic-auth password or event signature) gets 403 and leaves no
    row behind: no message, family, outbox row, consent, provider event or alert."""
    headers: dict[str, str] = {}
    if secret is not None:
        headers = {
            "X-Twilio-Signature": secret,
            "X-Telegram-Bot-Api-Secret-Token": secret,
            "Authorization": inbound_auth(secret)["Authorization"],
            "X-Twilio-Email-Event-Webhook-Signature": secret,
            "X-Twilio-Email-Event-Webhook-Timestamp": str(int(time.time())),
        }
    before = footprint(stack)
    if route.startswith("/webhooks/twilio"):
        answer = stack.http.post(route, data=form, headers=headers)
    elif route == "/webhooks/sendgrid/inbound":
        files = {k: (None, v.encode("utf-8")) for k, v in form.items()}
        answer = stack.http.post(route, files=files or None, headers=headers)
    else:
        raw = json.dumps(body).encode()
        answer = stack.http.post(
            route, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
    assert answer.status_code in (403, 413), (route, answer.status_code, answer.text[:200])
    assert footprint(stack) == before
