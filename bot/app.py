"""The one builder: settings in, a wired app out (storage, program, runtime, channels,
dispatcher)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from bot.channels.base import Channel
from bot.channels.metered import metered
from bot.engine.program import CrisisPolicy
from bot.metrics import Metrics
from bot.problems import ProblemsFound
from bot.program_files import ProgramFiles
from bot.runtime.context import Context, settings_clock
from bot.runtime.family_clock import parse_hhmm
from bot.runtime.outbox.dispatcher import Dispatcher
from bot.runtime.outbox.pacing import Pace, SharedPace
from bot.runtime.program_holder import ProgramHolder
from bot.runtime.runtime import Runtime
from bot.scheduling.clock import QuietHours
from bot.settings import DEFAULT_ORG_CONTACT, ConfigError, Settings
from storage.db import is_sqlite, make_engine, session_factory
from storage.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    runtime: Runtime
    dispatcher: Dispatcher
    channels: dict[str, Channel]
    metrics: Metrics

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        self.engine.dispose()


def check_settings(settings: Settings) -> None:
    """Refuse to start on settings that would fail later, naming the variable."""
    try:
        QuietHours(parse_hhmm(settings.quiet_start), parse_hhmm(settings.quiet_end))
    except ValueError as exc:
        raise ConfigError(
            f"QUIET_START/QUIET_END ({settings.quiet_start}-{settings.quiet_end}): {exc}"
        ) from exc
    settings.check_console()
    settings.check_signing_keys()
    if settings.alerting_configured() and settings.org_contact in ("", DEFAULT_ORG_CONTACT):
        raise ConfigError(
            "staff alerts are set but ORG_CONTACT is not: after a crisis the bot tells the "
            "family how to reach a person, so set ORG_CONTACT (for example 'call 555-0100')"
        )


def crisis_policy(settings: Settings) -> CrisisPolicy:
    return CrisisPolicy(
        pause_s=int(settings.crisis_pause_hours * 3600),
        followup_after_s=int(settings.crisis_followup_hours * 3600),
        alerting=settings.alerting_configured(),
        default_country=settings.default_country,
    )


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Real adapters for every configured channel; a half-configured one is an error naming the
    variable."""
    channels: dict[str, Channel] = {}
    timeout = settings.provider_timeout_s
    if settings.channel_enabled("sms"):
        from bot.channels.twilio_sms import TwilioSMS

        callback = f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status"
        channels["sms"] = TwilioSMS(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number or None,
            messaging_service_sid=settings.twilio_messaging_service_sid or None,
            api_base_url=settings.twilio_api_base_url,
            status_callback_url=callback,
            timeout_s=timeout,
        )
    if settings.channel_enabled("telegram"):
        from bot.channels.telegram import TelegramBot

        channels["telegram"] = TelegramBot(
            token=settings.telegram_bot_token,
            api_base_url=settings.telegram_api_base_url,
            timeout_s=timeout,
        )
    if settings.channel_enabled("email"):
        from bot.channels.sendgrid_email import SendGridEmail

        channels["email"] = SendGridEmail(
            api_key=settings.sendgrid_api_key,
            from_email=settings.sendgrid_from_email,
            api_base_url=settings.sendgrid_api_base_url,
            timeout_s=timeout,
            org_name=settings.org_name,
            org_postal_address=settings.org_postal_address,
        )
    for name in ("sms", "telegram", "email"):
        log.info("channel %s: %s", name, "on" if name in channels else "off (no credentials set)")
        for backup, variable in ((False, "STAFF_ALERT"), (True, "STAFF_BACKUP")):
            if settings.staff(name, backup) and name not in channels:
                log.warning(
                    "%s_%s is set but the %s channel is off: crisis alerts to it will wait "
                    "in the outbox until the channel is configured",
                    variable,
                    name.upper(),
                    name,
                )
    return channels


def paces(settings: Settings, engine: Engine) -> dict[str, Pace]:
    """Each channel's pace, shared by every process through the database."""

    def pace(channel: str, rate: float, per_address_s: float = 0.0) -> Pace:
        return Pace(per_address_s, SharedPace(engine, channel, rate) if rate else None)

    return {
        "sms": pace("sms", settings.sms_rate_per_s),
        "telegram": pace(
            "telegram", settings.telegram_rate_per_s, settings.telegram_per_chat_interval_s
        ),
        "email": pace("email", settings.email_rate_per_s),
    }


def build(
    settings: Settings | None = None,
    *,
    channels: Mapping[str, Channel] | None = None,
    clock: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    rate_limits: bool = True,
) -> App:
    settings = settings or Settings()
    check_settings(settings)
    keys = settings.data_key_list()
    settings.check_address_hash_key()
    if not keys:
        log.warning(
            "DATA_KEYS is not set: what is stored is encrypted with the development key, "
            "which protects nothing (fine for `make run` and tests, never for families)"
        )
    engine = make_engine(settings.database_url, keys or None)
    if is_sqlite(engine):
        upgrade(engine)  # the embedded default keeps itself current
    elif current_revision(engine) != head_revision():
        engine.dispose()
        raise ConfigError(
            "the database schema is not current: run `craftbot db upgrade` (the Procfile's "
            "release step)"
        )
    holder = ProgramHolder(ProgramFiles.at(settings.program_dir), crisis_policy(settings))
    problems = holder.reload()
    if problems:
        raise ProblemsFound(problems)
    ctx = Context(
        settings,
        holder,
        session_factory(engine),
        clock or settings_clock(settings),
        rng or random.Random(),
    )
    metrics = Metrics(ctx.db)
    chosen = metered(channels if channels is not None else build_channels(settings), metrics)
    dispatcher = Dispatcher(ctx, chosen, paces(settings, ctx.engine) if rate_limits else {})
    return App(settings, engine, ctx, Runtime(ctx), dispatcher, chosen, metrics)
