"""Settings from environment variables (names are a contract: see docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.crypto import DataKeyProblem, parse_keys

REPO_ROOT = Path(__file__).resolve().parent.parent
# Unset by default: HELP then names the organisation (ORG_NAME), never the circular "Contact:
# reply HELP"; a real deployment names a phone number or email address that reaches a person.
DEFAULT_ORG_CONTACT = ""
MIN_KEY_CHARS = 32  # a signing key or token must be long enough that guessing is hopeless
# A webhook's shared secret (Telegram's secret token, Inbound Parse's basic-auth password) is the
# only thing between anyone and a family's words: guessed, it lets a stranger write as any family
# (opt them out, raise false alerts). 16 random characters of Telegram's alphabet are 96 bits.
MIN_WEBHOOK_SECRET_CHARS = 16
NEW_KEY_HINT = "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: str = "sqlite:///craftbot.db"
    public_base_url: str = "http://127.0.0.1:8000"
    program_dir: Path = Field(default=REPO_ROOT, alias="CRAFTBOT_PROGRAM_DIR")

    org_name: str = "Family Support"
    org_postal_address: str = ""
    org_contact: str = Field(
        default=DEFAULT_ORG_CONTACT, description="How a family reaches a person"
    )
    # The same in Spanish words ("llama al 555-0100"); unset, Spanish messages show ORG_CONTACT as
    # it is written, so write that in words both languages read (a number, a web address).
    org_contact_es: str = ""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"

    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"

    sendgrid_api_key: str = ""
    sendgrid_from_email: str = ""
    sendgrid_inbound_secret: str = ""  # Inbound Parse's basic-auth password; nothing else
    sendgrid_event_public_key: str = ""
    # Signs one-click unsubscribe links, and only them: a key of its own, so no other secret
    # (nor a value anyone can read) lets a stranger opt families out.
    unsubscribe_signing_key: str = ""
    sendgrid_api_base_url: str = "https://api.sendgrid.com"

    # On-call staff told at once about a crisis (comma-separated; any may be empty). An entry may
    # carry a name the alert records as who acknowledged: "Dana <+15550123>" (docs/crisis.md).
    staff_alert_sms: str = ""
    staff_alert_email: str = ""
    staff_alert_telegram: str = ""
    # The backup list: told when nobody acknowledges an alert within ALERT_ACK_MINUTES.
    staff_backup_sms: str = ""
    staff_backup_email: str = ""
    staff_backup_telegram: str = ""
    alert_ack_minutes: float = Field(default=10, gt=0)
    # After the backup notice, every open alert is sent again this often until acknowledged.
    alert_repeat_minutes: float = Field(default=15, gt=0)
    # Distress without danger words (rage, fear, despair) raises a lower-priority alert.
    alert_on_distress: bool = False

    default_timezone: str = "America/New_York"
    default_country: str = "US"
    # Where a phone number typed without +country (by a coach: enroll, import) is read; empty
    # means DEFAULT_COUNTRY. An ISO 3166 code such as US, GB or ES.
    default_region: str = ""
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    # An answer to a family's own message goes at any hour, quiet or not, if it can go within
    # this many minutes; later (the worker was down), it waits for the morning like the
    # program's messages (bot/runtime/outbox/hours.py).
    reply_window_minutes: float = Field(default=30, ge=0)
    # Delivery (docs/architecture.md): tries before a message is failed for good (reason
    # "attempts"); a family's crisis reply that fails for good alerts staff.
    send_attempts: int = Field(default=12, ge=1)
    crisis_send_attempts: int = Field(default=6, ge=1)
    crisis_pause_hours: float = 24
    crisis_followup_hours: float = 4

    tick_seconds: float = 15
    # A moved clock, for soaks and demonstrations, never for families: the service acts as if it
    # were CLOCK_START at the Unix time CLOCK_ANCHOR (0: when the process starts), and its time
    # runs CLOCK_SPEED times as fast. Processes given the same three values share one clock.
    clock_start: str = ""
    clock_anchor: float = 0
    clock_speed: float = Field(default=1.0, gt=0)
    sms_rate_per_s: float = 1.0  # a US long code; a short code or toll-free number allows more
    telegram_rate_per_s: float = 30.0
    telegram_per_chat_interval_s: float = 1.0
    email_rate_per_s: float = 10.0
    provider_timeout_s: float = 10.0
    max_body_bytes: int = 1_048_576

    # /metrics (docs/deploy.md): served only with a token, and only to a request bearing it. A
    # worker serves its own metrics on METRICS_PORT when set (the web process on its own port).
    metrics_token: str = ""
    metrics_port: int = 0  # 0: the worker serves no metrics

    @field_validator("clock_start")
    @classmethod
    def _an_instant(cls, value: str) -> str:
        from datetime import datetime

        if value.strip():
            try:
                datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"'{value}' is not an ISO 8601 instant such as 2026-03-02T14:00Z"
                ) from None
        return value.strip()

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"'{value}' is not a region code phone numbers know (such as US or GB)"
            )
        return region

    def phone_region(self) -> str:
        return self.default_region or self.default_country.upper()

    def org_placeholders(self) -> dict[str, str]:
        """What `{org}`, `{org_contact}` and `{answer_within}` become in every message; the
        answer time and the contact in each language's own words under `answer_within.<locale>`
        and `org_contact.<locale>`."""
        return {
            "org": self.org_name,
            "org_contact": self.org_contact.strip() or self.org_name,
            **(
                {"org_contact.es": self.org_contact_es.strip()}
                if self.org_contact_es.strip()
                else {}
            ),
            "answer_within": self.ask_answer_within,
            **{f"answer_within.{loc}": words for loc, words in self.answer_within().items()},
        }

    def answer_within(self) -> dict[str, str]:
        """When a person answers a question sent with ASK, per locale (ASK_ANSWER_WITHIN_<LOCALE>;
        English is ASK_ANSWER_WITHIN itself)."""
        return {"en": self.ask_answer_within, "es": self.ask_answer_within_es}

    @model_validator(mode="after")
    def _answer_time_in_every_language(self) -> Settings:
        """An organisation that changes its answer time says it in every language, so no family
        is promised a time the team did not set."""
        given = self.model_fields_set
        if "ask_answer_within" in given and "ask_answer_within_es" not in given:
            raise ValueError(
                "ASK_ANSWER_WITHIN is set but ASK_ANSWER_WITHIN_ES is not: give the same answer "
                "time in Spanish words too, for example ASK_ANSWER_WITHIN_ES='en dos días hábiles'"
            )
        return self

    # The coach console at /console/ (docs/console.md): off unless turned on; then it needs a key.
    console_enabled: bool = False
    console_secret_key: str = ""  # signs session and CSRF cookies; at least 32 characters
    console_session_hours: float = 12  # a sign-in lasts this long, then the coach signs in again
    console_login_attempts: int = 5  # failed sign-ins per email in the window before a wait
    console_login_window_minutes: float = 15
    # Ask a coach (ASK): what a family is told about when a person answers their question, in the
    # words of each language (English, Spanish); set both or neither.
    ask_answer_within: str = "within a day"
    ask_answer_within_es: str = "en un plazo de un día"
    # A family's own data (docs/privacy.md). Keys the hash an erased family's address is kept as
    # (DELETE keeps only the opt-out), so the
    # table cannot be matched against a list of phone numbers. Never change it once set: erased
    # addresses would no longer be recognised.
    address_hash_key: str = ""

    # Encryption at rest (docs/privacy.md): comma-separated long random secrets, the first one
    # encrypting, the others only read (a key being rotated out). Required once a channel or
    # PostgreSQL is on; without it `make run` and the tests use a development key anyone can read.
    data_keys: str = ""
    # Message bodies older than this are erased by the worker; alerts keep their text until they
    # have been closed this long.
    retention_days: float = Field(default=180, gt=0)

    def data_key_list(self) -> tuple[str, ...]:
        """DATA_KEYS, parsed; empty (the development key) only on SQLite with no channel on."""
        try:
            keys = parse_keys(self.data_keys)
        except DataKeyProblem as exc:
            raise ConfigError(f"{exc}: each key is a long random value, {NEW_KEY_HINT}") from None
        if not keys and self.holds_real_data():
            raise ConfigError(
                "DATA_KEYS is not set: message bodies, answers and profile text are encrypted "
                f"with it at rest; set it to a long random value, {NEW_KEY_HINT}, and keep a "
                "copy where your backups are not (without it nothing stored can be read)"
            )
        return keys

    def holds_real_data(self) -> bool:
        """A channel or PostgreSQL is on: real families may write, so a real key is needed."""
        return not self.database_url.startswith("sqlite") or any(
            self.channel_enabled(c) for c in ("sms", "telegram", "email")
        )

    def check_address_hash_key(self) -> None:
        """Once real families can write, DELETE's hashed opt-out needs a key of this deployment's
        own: the development key is in the source, and with it every stored hash can be matched
        against a list of phone numbers or emails (docs/privacy.md)."""
        if not self.address_hash_key.strip() and self.holds_real_data():
            raise ConfigError(
                "ADDRESS_HASH_KEY is not set: an erased family's address is kept only as a hash "
                "keyed with it (DELETE), and without it the key is one anyone can read; set it "
                f"to a long random value, {NEW_KEY_HINT}, and never change it"
            )

    def check_console(self) -> None:
        """With the console on, its signing key must be set and long enough to guess at."""
        if self.console_enabled and len(self.console_secret_key.strip()) < 32:
            raise ConfigError(
                "CONSOLE_ENABLED is on but CONSOLE_SECRET_KEY is missing or shorter than 32 "
                "characters: set it to a long random value, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )

    def check_signing_keys(self) -> None:
        """Each signing key is long, and its own: never another setting's value reused."""
        keys = {
            "UNSUBSCRIBE_SIGNING_KEY": self.unsubscribe_signing_key,
            "METRICS_TOKEN": self.metrics_token,
            "ADDRESS_HASH_KEY": self.address_hash_key,
        }
        others = {
            **keys,
            "SENDGRID_INBOUND_SECRET": self.sendgrid_inbound_secret,
            "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "SENDGRID_API_KEY": self.sendgrid_api_key,
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "CONSOLE_SECRET_KEY": self.console_secret_key,
        }
        if self.metrics_port and not self.metrics_token.strip():
            raise ConfigError(
                "METRICS_PORT is set but METRICS_TOKEN is not: metrics are served only to a "
                f"scraper that bears the token; set one with {NEW_KEY_HINT}"
            )
        webhook_secrets = {
            "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            "SENDGRID_INBOUND_SECRET": self.sendgrid_inbound_secret,
        }
        for name, value in webhook_secrets.items():
            if value.strip() and len(value.strip()) < MIN_WEBHOOK_SECRET_CHARS:
                raise ConfigError(
                    f"{name} is shorter than {MIN_WEBHOOK_SECRET_CHARS} characters: it is all "
                    "that proves a webhook comes from the provider, so set it to a long random "
                    f"value, for example the output of {NEW_KEY_HINT}"
                )
            same = [o for o, v in others.items() if o != name and v.strip() == value.strip()]
            if value.strip() and same:
                raise ConfigError(
                    f"{name} is the same as {same[0]}: each secret is its own, so one leaking "
                    f"does not give away the other; set a new one with {NEW_KEY_HINT}"
                )
        for name, value in keys.items():
            if not value.strip():
                continue
            if len(value.strip()) < MIN_KEY_CHARS:
                raise ConfigError(
                    f"{name} is shorter than {MIN_KEY_CHARS} characters: set it to a long "
                    f"random value, for example the output of {NEW_KEY_HINT}"
                )
            same = [o for o, v in others.items() if o != name and v.strip() == value.strip()]
            if same:
                raise ConfigError(
                    f"{name} is the same as {same[0]}: each key is a secret of its own, so "
                    f"one leaking does not give away the other; set a new one with {NEW_KEY_HINT}"
                )

    def console_cookies_secure(self) -> bool:
        """Mark cookies Secure when the public address is HTTPS (behind a TLS proxy, as
        deployed)."""
        return self.public_base_url.lower().startswith("https://")

    def staff(self, channel: str, backup: bool = False) -> list[str]:
        """The entries of STAFF_ALERT_<CHANNEL> (or STAFF_BACKUP_<CHANNEL>), as written."""
        raw = (
            {
                "sms": self.staff_backup_sms,
                "email": self.staff_backup_email,
                "telegram": self.staff_backup_telegram,
            }
            if backup
            else {
                "sms": self.staff_alert_sms,
                "email": self.staff_alert_email,
                "telegram": self.staff_alert_telegram,
            }
        )[channel]
        return [a.strip() for a in raw.split(",") if a.strip()]

    def alerting_configured(self) -> bool:
        """Is anyone told of an alert: an on-call or a backup address on any channel."""
        return any(self.staff(c, b) for c in ("sms", "email", "telegram") for b in (False, True))

    def channel_enabled(self, channel: str) -> bool:
        """True when configured; False when untouched; ConfigError when half configured."""
        groups = {
            "sms": {
                "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
                "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID": self.twilio_from_number
                or self.twilio_messaging_service_sid,
            },
            "telegram": {
                "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
                "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            },
            "email": {
                "SENDGRID_API_KEY": self.sendgrid_api_key,
                "SENDGRID_FROM_EMAIL": self.sendgrid_from_email,
                "SENDGRID_INBOUND_SECRET": self.sendgrid_inbound_secret,
                "UNSUBSCRIBE_SIGNING_KEY": self.unsubscribe_signing_key,
                "ORG_POSTAL_ADDRESS": self.org_postal_address,
            },
        }[channel]
        present = [k for k, v in groups.items() if v and k != "ORG_POSTAL_ADDRESS"]
        if not present:
            return False  # the postal address alone is not a sign email is wanted
        missing = [k for k, v in groups.items() if not v]
        if missing:
            raise ConfigError(
                f"the {channel} channel is partly configured: set {', '.join(missing)} (or unset "
                f"{', '.join(present)} to turn it off)"
            )
        return True
