"""Channel configuration from environment variables: off, on, or a startup error naming what is
missing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import build, build_channels
from bot.cli.main import main
from bot.settings import ConfigError, Settings
from bot.web.app import event_verifier
from tests.standins.telegram_api import TelegramStandin

VARIABLES = (
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "ORG_NAME",
    "ORG_POSTAL_ADDRESS",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_API_BASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_API_BASE_URL",
    "SENDGRID_API_KEY",
    "SENDGRID_FROM_EMAIL",
    "SENDGRID_INBOUND_SECRET",
    "SENDGRID_EVENT_PUBLIC_KEY",
    "UNSUBSCRIBE_SIGNING_KEY",
    "SENDGRID_API_BASE_URL",
)
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": "+15550100",
}
TELEGRAM = {
    "TELEGRAM_BOT_TOKEN": "123456:standin-token",
    "TELEGRAM_WEBHOOK_SECRET": "deploy-telegram-secret_1",
}
SENDGRID = {
    "SENDGRID_API_KEY": "SG.key",
    "SENDGRID_FROM_EMAIL": "coach@example.org",
    "SENDGRID_INBOUND_SECRET": "deploy-inbound-secret",
    "UNSUBSCRIBE_SIGNING_KEY": "an-unsubscribe-key-of-its-own-0123456789",
    "ORG_POSTAL_ADDRESS": "PO Box 0123, Springfield",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment: only what a test sets is there."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def set_all(env: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        env.setenv(name, value)


def test_with_no_credentials_every_channel_is_off_and_says_so(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # when the app starts with no provider variables at all
    with caplog.at_level(logging.INFO, logger="bot.app"):
        channels = build_channels(Settings())

    # then no channel runs, and the log says which are off and why
    assert channels == {}
    for name in ("sms", "telegram", "email"):
        assert f"channel {name}: off (no credentials set)" in caplog.text


async def test_a_fully_configured_channel_is_on_and_the_others_say_off(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given only Telegram's variables
    set_all(env, TELEGRAM)

    # when the app starts
    with caplog.at_level(logging.INFO, logger="bot.app"):
        channels = build_channels(Settings())

    # then Telegram is on and the others are off, each said at start
    assert sorted(channels) == ["telegram"]
    assert "channel telegram: on" in caplog.text
    assert "channel sms: off (no credentials set)" in caplog.text
    await channels["telegram"].aclose()


@pytest.mark.parametrize(
    "values,missing",
    [
        (
            {"TWILIO_ACCOUNT_SID": TWILIO["TWILIO_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN": "token"},
            "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID",
        ),
        (
            {"TWILIO_AUTH_TOKEN": "token", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32},
            "TWILIO_ACCOUNT_SID",
        ),
        (
            {"TWILIO_ACCOUNT_SID": TWILIO["TWILIO_ACCOUNT_SID"], "TWILIO_FROM_NUMBER": "+15550100"},
            "TWILIO_AUTH_TOKEN",
        ),
        ({"TELEGRAM_BOT_TOKEN": TELEGRAM["TELEGRAM_BOT_TOKEN"]}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"TELEGRAM_WEBHOOK_SECRET": "deploy-telegram-secret_1"}, "TELEGRAM_BOT_TOKEN"),
        ({**SENDGRID, "SENDGRID_INBOUND_SECRET": ""}, "SENDGRID_INBOUND_SECRET"),
        ({**SENDGRID, "SENDGRID_FROM_EMAIL": ""}, "SENDGRID_FROM_EMAIL"),
        ({**SENDGRID, "UNSUBSCRIBE_SIGNING_KEY": ""}, "UNSUBSCRIBE_SIGNING_KEY"),
        ({**SENDGRID, "ORG_POSTAL_ADDRESS": ""}, "ORG_POSTAL_ADDRESS"),
    ],
    ids=[
        "sms-sender",
        "sms-sid",
        "sms-token",
        "telegram-secret",
        "telegram-token",
        "email-inbound-secret",
        "email-from",
        "email-unsubscribe-key",
        "email-postal-address",
    ],
)
def test_a_partly_configured_channel_stops_startup_naming_the_missing_variable(
    env: pytest.MonkeyPatch, values: dict[str, str], missing: str
) -> None:
    # given some but not all of one channel's variables
    set_all(env, values)

    # when the app starts, then it refuses, naming what to set
    with pytest.raises(ConfigError) as refused:
        build_channels(Settings())
    assert f"set {missing}" in str(refused.value)


def test_a_partly_configured_channel_is_a_one_line_error_from_the_cli(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a Telegram token without its webhook secret
    set_all(env, {"TELEGRAM_BOT_TOKEN": TELEGRAM["TELEGRAM_BOT_TOKEN"]})

    # when the operator runs a command that needs the channel
    code = main(["telegram", "set-webhook"])

    # then it exits 2 with a sentence naming the variable, no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        "craftbot telegram set-webhook: the telegram channel is partly configured: set "
        "TELEGRAM_WEBHOOK_SECRET"
    )
    assert "Traceback" not in err


def test_the_postal_address_alone_does_not_turn_email_on(env: pytest.MonkeyPatch) -> None:
    set_all(env, {**TWILIO, "ORG_POSTAL_ADDRESS": "PO Box 0123, Springfield"})
    assert Settings().channel_enabled("email") is False


def test_an_unreadable_event_webhook_key_stops_startup_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="SENDGRID_EVENT_PUBLIC_KEY"):
        event_verifier("not-a-key")
    assert event_verifier("") is None


@pytest.fixture
def telegram_api() -> Iterator[TelegramStandin]:
    with TelegramStandin(token=TELEGRAM["TELEGRAM_BOT_TOKEN"]) as server:
        yield server


def test_set_webhook_registers_the_public_url_with_the_secret(
    env: pytest.MonkeyPatch, telegram_api: TelegramStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the deploy's variables, the Bot API base URL pointing at the stand-in
    set_all(
        env,
        {
            **TELEGRAM,
            "PUBLIC_BASE_URL": "https://bot.example.org/",
            "TELEGRAM_API_BASE_URL": telegram_api.url,
        },
    )

    # when the operator runs it once at deploy time
    code = main(["telegram", "set-webhook"])

    # then Telegram knows where to post updates and which secret to send with them
    assert code == 0
    assert telegram_api.webhook["url"] == "https://bot.example.org/webhooks/telegram"
    assert telegram_api.webhook["secret_token"] == TELEGRAM["TELEGRAM_WEBHOOK_SECRET"]
    assert "webhook set: https://bot.example.org/webhooks/telegram" in capsys.readouterr().out


def test_set_webhook_with_a_token_telegram_refuses_says_so_without_a_traceback(
    env: pytest.MonkeyPatch, telegram_api: TelegramStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    set_all(
        env,
        {
            **TELEGRAM,
            "TELEGRAM_BOT_TOKEN": "999:revoked",
            "PUBLIC_BASE_URL": "https://bot.example.org",
            "TELEGRAM_API_BASE_URL": telegram_api.url,
        },
    )
    code = main(["telegram", "set-webhook"])
    err = capsys.readouterr().err
    assert code == 2 and "did not register https://bot.example.org/webhooks/telegram" in err
    assert "999:revoked" not in err and telegram_api.webhook == {}


def test_set_webhook_on_the_official_api_refuses_a_plain_http_url_before_any_call(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_all(env, {**TELEGRAM, "PUBLIC_BASE_URL": "http://bot.example.org"})
    assert main(["telegram", "set-webhook"]) == 2
    assert "HTTPS" in capsys.readouterr().err


def test_staff_alerts_without_org_contact_refuse_to_start(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given alerts go to a coach, but families would be told to "reply HELP" to reach a person
    set_all(env, {"STAFF_ALERT_SMS": "+15550199", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    # then the service refuses to start and names the variable
    with pytest.raises(ConfigError, match="ORG_CONTACT"):
        build(Settings(), channels={})


def test_quiet_hours_that_leave_no_time_refuse_to_start(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_all(
        env,
        {
            "QUIET_START": "08:00",
            "QUIET_END": "07:30",
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        },
    )
    with pytest.raises(ConfigError, match="QUIET_START/QUIET_END"):
        build(Settings(), channels={})
