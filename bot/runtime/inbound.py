"""Inbound messages: dedupe the provider's id, find or add the family, one turn, commit.

A provider retry (the same channel and provider id) changes nothing. The web app on SQLite hands
several webhooks to `handle_many` (one transaction, one commit); each still gets its own answer.
A message from a staff address (STAFF_ALERT_*, STAFF_BACKUP_*) is never a family's: it goes to
the alerts room (`ACK 42`), and no contact is made for it, whatever it says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.channels.base import InboundMessage
from bot.engine import Message
from bot.engine.session import Session
from bot.runtime.alerts.phone import staff_reply
from bot.runtime.alerts.staff import StaffList
from bot.runtime.context import Context
from bot.runtime.family import Family
from bot.runtime.family_clock import guess_from_phone
from bot.runtime.turn import Turn
from storage.db import DB
from storage.queries import families as family_sql
from storage.queries import records

Address = tuple[str, str]  # (channel, address)


@dataclass
class InboundResult:
    duplicate: bool
    contact_id: int | None = None
    outbox_ids: list[int] = field(default_factory=list)
    crisis_ids: list[int] = field(default_factory=list)


class Inbound:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.staff = StaffList.from_settings(ctx.settings)

    def handle(self, msg: InboundMessage, now: datetime | None = None) -> InboundResult:
        """Dedupe, run the engine, write the outbox, commit."""
        with self.ctx.transaction() as db:
            return self._turn(db, [msg], now)[0]

    def handle_many(self, msgs: Sequence[InboundMessage]) -> list[InboundResult | Exception]:
        """Several messages in one transaction and one commit, each as `handle` would do it.

        If any of them raises, the whole transaction rolls back and each is done again alone, so
        a bad message fails only itself: its outcome is its exception.
        """
        try:
            with self.ctx.transaction() as db:
                return list(self._turn(db, msgs))
        except Exception as exc:
            if len(msgs) == 1:
                return [exc]
        outcomes: list[InboundResult | Exception] = []
        for msg in msgs:
            try:
                outcomes.append(self.handle(msg))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _turn(
        self, db: DB, msgs: Sequence[InboundMessage], now: datetime | None = None
    ) -> list[InboundResult]:
        """The messages in order, in the caller's transaction."""
        at = [now or self.ctx.clock() for _ in msgs]
        turn = Turn(self.ctx, db)
        staff = [self.staff.match(msg.channel, msg.address) for msg in msgs]
        ours = [i for i, member in enumerate(staff) if member is None]
        families = self._families(db, turn, [msgs[i] for i in ours], [at[i] for i in ours])
        new = family_sql.record_inbound(
            db,
            [
                {
                    "channel": msg.channel,
                    "provider_id": msg.provider_id,
                    "text": msg.words[:10_000],  # captions and own subjects are words too
                    "received_at": when,
                    "contact_id": None if member else families[(msg.channel, msg.address)].id,
                }
                for msg, when, member in zip(msgs, at, staff, strict=True)
            ],
        )
        results: list[InboundResult] = []
        stepped: list[tuple[int, int, list[int]]] = []  # (result, family, outbox rows)
        for msg, when, member in zip(msgs, at, staff, strict=True):
            inbound_id = new.pop((msg.channel, msg.provider_id), None)
            if inbound_id is None:
                results.append(InboundResult(duplicate=True))  # a provider retry, or a copy
            elif member is not None:
                answer = records.add_outbox(db, staff_reply(db, member, msg.text, when))
                results.append(InboundResult(False, None, answer))
            else:
                key = (msg.channel, msg.address)
                families[key], rows = turn.step(families[key], _message(msg), when, inbound_id)
                stepped.append((len(results), families[key].id, rows))
                results.append(InboundResult(False))
        turn.flush()
        for index, family_id, rows in stepped:
            results[index] = InboundResult(
                False, family_id, turn.outbox_ids(rows), turn.crisis_ids(rows)
            )
        return results

    def _families(
        self, db: DB, turn: Turn, msgs: Sequence[InboundMessage], at: Sequence[datetime]
    ) -> dict[Address, Family]:
        """The families these messages come from, locked; a first message adds its family."""
        wanted: dict[str, set[str]] = {}
        for msg in msgs:
            wanted.setdefault(msg.channel, set()).add(msg.address)
        found = self._find(db, turn, wanted)
        first: dict[Address, datetime] = {}
        for msg, when in zip(msgs, at, strict=True):
            if (msg.channel, msg.address) not in found:
                first.setdefault((msg.channel, msg.address), when)
        if first:
            family_sql.add_contacts(
                db, [self._new_contact(*key, when) for key, when in first.items()]
            )
            added: dict[str, set[str]] = {}
            for channel, address in first:
                added.setdefault(channel, set()).add(address)
            found |= self._find(db, turn, added)
        return found

    @staticmethod
    def _find(db: DB, turn: Turn, wanted: dict[str, set[str]]) -> dict[Address, Family]:
        # Channel by channel in one order, each channel's rows locked in id order: transactions
        # of several web processes that want some of the same families wait, never deadlock.
        return {
            (family.channel, family.address): family
            for channel, addresses in sorted(wanted.items())
            for family in map(turn.family, family_sql.families_by_address(db, channel, addresses))
        }

    def _new_contact(self, channel: str, address: str, now: datetime) -> dict[str, object]:
        """A first message from this address: the family as it starts, guessing its zone and
        country from a phone number."""
        zone, country = guess_from_phone(address) if channel == "sms" else (None, None)
        # Not known yet (Telegram, email): DEFAULT_COUNTRY until the time zone they choose, or
        # their answer to the country question, says (bot/engine/step.py `place_family`).
        source = "phone" if country else "default"
        country = country or self.ctx.settings.default_country
        return {
            "channel": channel,
            "address": address,
            "status": "new",
            "locale": "en",
            "timezone": zone,
            "country": country,
            "paused_indefinitely": False,
            "session": Session(profile={"country": country, "country_from": source}).to_json(),
            "created_at": now,
            "updated_at": now,
        }


def _message(msg: InboundMessage) -> Message:
    """What the engine reads of an inbound message."""
    return Message(
        msg.text,
        msg.keyword_hint,
        msg.channel,
        msg.subject,
        msg.media,
        msg.edited,
        msg.language_hint,
    )
