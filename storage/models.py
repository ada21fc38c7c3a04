"""The tables. Kept portable: the same models run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import EncryptedText, LocalDate, UTCDateTime


class Base(DeclarativeBase):
    pass


class Contact(Base):
    """One family member on one channel. Profile columns mirror the engine's session."""

    __tablename__ = "contacts"
    # SQLite: an erased family's number is never given to another (migration 0012); so alerts'
    # and questions'.
    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_contacts_channel_address"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="new")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(80))
    relationship: Mapped[str | None] = mapped_column(String(16))
    loved_one: Mapped[str | None] = mapped_column(EncryptedText(80))
    lesson_time: Mapped[str | None] = mapped_column(String(5))
    checkin_time: Mapped[str | None] = mapped_column(String(5))
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # None: the deployment's default
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_indefinitely: Mapped[bool] = mapped_column(Boolean, default=False)
    session: Mapped[str] = mapped_column(EncryptedText, default="{}")  # the engine's Session, JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(Base):
    """Every consent change: who, when, on which channel, how, and the words used."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    given: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(
        String(24)
    )  # consent, decline, opt_out, opt_in, admin_enroll
    channel: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(16))  # self | admin | provider
    words: Mapped[str] = mapped_column(EncryptedText)  # what the person wrote, or the admin's note
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkin(Base):
    __tablename__ = "checkins"
    # One check-in a family's local day: a later answer that day replaces the earlier one. The
    # console's stats ask of every day whether it was answered.
    __table_args__ = (Index("uq_checkins_contact_day", "contact_id", "local_date", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(String(8))  # use | non_use | unsure
    local_date: Mapped[date | None] = mapped_column(LocalDate)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundMessage(Base):
    """Inbound messages; (channel, provider_id) is the dedupe key for provider retries."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "provider_id", name="uq_inbound_provider_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(EncryptedText)  # "" once older than RETENTION_DAYS
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboundMessage(Base):
    """The outbox: committed before any provider call; the dispatcher sends and records the
    outcome."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(120))  # catalog id
    kind: Mapped[str] = mapped_column(String(12), default="normal")  # normal | crisis | compliance
    text: Mapped[str] = mapped_column(EncryptedText)  # "" once older than RETENTION_DAYS
    subject: Mapped[str | None] = mapped_column(EncryptedText)
    # What a picture sent with the words shows, as JSON (the weekly summary's calendar): drawn
    # when sent, so the row holds the data, not the image (bot/runtime/summary_picture.py).
    media: Mapped[str | None] = mapped_column(EncryptedText)
    # queued | sending (claimed) | sent (delivered, read: the provider confirmed) | failed |
    # expired | cancelled: every row ends in one of the last four
    status: Mapped[str] = mapped_column(String(16), default="queued")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(255), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The inbound message this answers (its id in inbound_messages); None: the program started
    # it. Quiet hours hold only the program's (bot/runtime/outbox/hours.py).
    in_reply_to: Mapped[int | None] = mapped_column(Integer)
    # Not sent after this (status expired); None: never expires (crisis replies, staff notices).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a row ended failed, expired or cancelled (docs/architecture.md, delivery semantics).
    reason: Mapped[str | None] = mapped_column(String(32))


class ChannelPace(Base):
    """A channel's next free sending slot, shared by every process that sends on it: a provider's
    rate limit belongs to the number or the bot, not to a process (bot/runtime/outbox/pacing.py)."""

    __tablename__ = "channel_pace"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch, the database's clock


class Alert(Base):
    """Something staff must act on (docs/crisis.md, the human loop): open, then acknowledged by
    someone, then closed with a note. While open and unacknowledged it escalates at `escalate_at`
    (the tick sends the next notice), so the timer is this row, not a job in a process."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_at", "status", "at"),
        Index("ix_alerts_escalate_at", "escalate_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(
        String(40)
    )  # overdose, suicide, violence, child, a distress kind, or the flow that alerted
    matched: Mapped[str] = mapped_column(EncryptedText)
    text: Mapped[str] = mapped_column(EncryptedText)  # "" once closed for RETENTION_DAYS
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(12), default="emergency")  # + followup, distress
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 1 urgent, 2 high, 3 normal
    status: Mapped[str] = mapped_column(String(12), default="open")  # acknowledged, closed
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))  # console, cli, sms...
    closed_by: Mapped[str | None] = mapped_column(String(320))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_note: Mapped[str | None] = mapped_column(EncryptedText)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: nothing more due
    escalations: Mapped[int] = mapped_column(Integer, default=0)  # notices sent after the first


class AlertNote(Base):
    """A note on an alert: what a staff member did or saw (from the console, the CLI or a phone)."""

    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(EncryptedText)


class AlertNotice(Base):
    """One notice of an alert to one staff address: who was told, at which stage, by which row
    of the outbox. `ACK` alone from an address acknowledges the newest alert it was told of."""

    __tablename__ = "alert_notices"
    __table_args__ = (Index("ix_alert_notices_address", "channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    stage: Mapped[int] = mapped_column(Integer)  # 0 the first notice, 1 the backup, 2... repeats
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Timer(Base):
    """Everything due later for a contact, one row per kind: lesson, checkin, nudge, wait, followup.

    For the daily kinds, local_date is the family's calendar day the slot belongs to; for a wait,
    seq says which question it times out (a newer question makes it stale).
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "due_at"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[date | None] = mapped_column(LocalDate)
    seq: Mapped[int | None] = mapped_column(Integer)


class Delivery(Base):
    """At most one of each daily kind per family per local day: the key makes a duplicate
    impossible."""

    __tablename__ = "deliveries"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    local_date: Mapped[date] = mapped_column(LocalDate, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderEvent(Base):
    """Dedupe for provider callbacks (e.g. Twilio status (MessageSid, status))."""

    __tablename__ = "provider_events"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the coach console: staff accounts, their sessions, and the audit log of what they do ---------
class Staff(Base):
    """A person on the organisation's team who signs in to the console. Never a family member."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(8))  # coach | admin
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; None until set
    # A one-time link to set the password: only its SHA-256 is kept, so the table cannot sign in.
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    setup_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where this person gets crisis alerts, if on an alert list (STAFF_ALERT_*): links a reply
    # from that phone, email or Telegram chat to the account. Kept normalised (E.164, lower case).
    alert_sms: Mapped[str | None] = mapped_column(String(32))
    alert_email: Mapped[str | None] = mapped_column(String(320))
    alert_telegram: Mapped[str | None] = mapped_column(String(64))


class StaffSession(Base):
    """A signed-in browser. The cookie holds the token; the table only its SHA-256."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One staff action: who (kept by email too, so it outlives the account), what, on what,
    when."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_action_at", "action", "at"),
        Index("ix_audit_target", "target", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    staff_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))  # e.g. family.view, alert.acknowledge
    target: Mapped[str] = mapped_column(String(16), default="")  # family | alert | staff | program
    target_id: Mapped[str] = mapped_column(String(320), default="")
    # Notes staff wrote (closing an alert, a question) land here too: encrypted like the notes.
    detail: Mapped[str] = mapped_column(EncryptedText, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class Question(Base):
    """What a family asked a person on the team (ASK, or YES to an offer of a person), and the
    answer a coach sent from the console's inbox."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_status_asked", "status", "asked_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(EncryptedText)  # the family's words
    prompt: Mapped[str] = mapped_column(String(120), default="")  # the message they answered
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | answered | closed
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # answered or closed
    answered_by: Mapped[str | None] = mapped_column(String(320))  # the staff email
    answer: Mapped[str | None] = mapped_column(EncryptedText)  # words sent, or why closed
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL")
    )


class ProgramAnswer(Base):
    """A family's answer to one of the program's own questions (flows/program_questions.yaml):
    the safety question, the loved one's stage (a track), their own wellbeing 1-5, and whether
    that day's lesson helped (1-5, with the lesson it rated)."""

    __tablename__ = "program_answers"
    __table_args__ = (
        Index("ix_program_answers_contact", "contact_id", "question", "local_date"),
        Index("ix_program_answers_lesson", "question", "lesson"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(16))  # safety | track | wellbeing | lesson_rating
    value: Mapped[str] = mapped_column(String(16))
    lesson: Mapped[str | None] = mapped_column(String(120))  # the lesson a rating is about
    local_date: Mapped[date] = mapped_column(LocalDate)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- a family's own data (docs/privacy.md): MYDATA's links, and what DELETE keeps -----------------
class DataRequest(Base):
    """MYDATA: one way for a family to get all their data. On SMS and Telegram a link whose token
    is used once before it expires (only its SHA-256 is kept); on email the attachment of one
    outbox row, built when that row is sent."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: email
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ErasedAddress(Base):
    """What is kept after a family's data is erased (DELETE, or staff on their request): that this
    address withdrew, so no enrolment or import adds it again. Only a keyed hash of the address."""

    __tablename__ = "erased_addresses"
    __table_args__ = (UniqueConstraint("channel", "address_hash", name="uq_erased_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 hex (ADDRESS_HASH_KEY)
    by: Mapped[str] = mapped_column(String(16))  # self | staff
    at: Mapped[datetime] = mapped_column(UTCDateTime)
