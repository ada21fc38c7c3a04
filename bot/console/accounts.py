"""Staff accounts: argon2 passwords, one-time set-up links, signed-in sessions, the audit log.

Used by `craftbot staff ...` and by the console's sign-in pages; the SQL is in
storage/console_accounts.py.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.console import alert_link
from storage import console_accounts as q
from storage import models as m

Role = Literal["coach", "admin"]
ROLES: tuple[Role, ...] = ("coach", "admin")
MIN_PASSWORD = 12  # staff see families' health data: longer than the usual 8 (NIST's floor)
MAX_PASSWORD = 1024
LINK_HOURS = 48
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A bad account request; the message says what and why, for the CLI or the page."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class StaffListing:
    email: str
    role: str
    state: str  # "can sign in", "set-up link pending until ...", "set-up link expired"
    created_at: datetime
    alerts: tuple[tuple[str, str], ...] = ()  # (channel, address) this person is alerted at


def digest(token: str) -> str:
    """What the tables keep of a session or link token: a leaked table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise AccountError(f"'{email}' is not an email address")
    return email


def check_password_rules(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must be at most {MAX_PASSWORD} characters long")
    if password.strip().lower() == email:
        raise AccountError("the password must not be the email address")


def _normal_alerts(addresses: Mapping[str, str], region: str) -> dict[str, str | None]:
    try:
        return alert_link.normal_alerts(addresses, region)
    except ValueError as exc:
        raise AccountError(str(exc)) from exc


def _user(staff: m.Staff) -> StaffUser:
    return StaffUser(staff.id, staff.email, "admin" if staff.role == "admin" else "coach")


class Accounts:
    def __init__(
        self, db: sessionmaker[Session], clock: Callable[[], datetime], hasher: PasswordHasher
    ) -> None:
        self.db, self.clock, self.hasher = db, clock, hasher
        self._dummy_hash: str | None = None

    # --- accounts (the CLI) --------------------------------------------------------------------
    def add(
        self,
        email: str,
        role: str,
        password: str | None,
        alerts: Mapping[str, str] | None = None,
        region: str = "US",
    ) -> tuple[StaffUser, str | None]:
        """A new account with this password, or (password None) a one-time link token to set it;
        `alerts` links it to the addresses it gets crisis alerts at (see `link_alerts`)."""
        email = normalize_email(email)
        if role not in ROLES:
            raise AccountError(f"role '{role}' is not one of {', '.join(ROLES)}")
        if password is not None:
            check_password_rules(password, email)
        now = self.clock()
        token = None if password is not None else secrets.token_urlsafe(32)
        staff = m.Staff(
            email=email,
            role=role,
            password_hash=self.hasher.hash(password) if password is not None else None,
            setup_token_hash=digest(token) if token else None,
            setup_expires_at=now + timedelta(hours=LINK_HOURS) if token else None,
            created_at=now,
        )
        wanted = _normal_alerts(alerts or {}, region)
        try:
            with self.db.begin() as db:
                q.add_staff(db, staff)
                self._audit(db, None, "staff.add", "staff", email, f"role {role}", "", now)
                if wanted:
                    self._link(db, staff, wanted, now)
        except IntegrityError as exc:
            raise AccountError(f"{email} already has an account") from exc
        return _user(staff), token

    def issue_link(self, email: str) -> str:
        """A new one-time link for an existing account (a forgotten password); old sessions end."""
        email = normalize_email(email)
        token, now = secrets.token_urlsafe(32), self.clock()
        with self.db.begin() as db:
            staff = q.staff_by_email(db, email)
            if staff is None:
                raise AccountError(f"{email} has no account (see `craftbot staff list`)")
            q.set_setup_token(db, staff.id, digest(token), now + timedelta(hours=LINK_HOURS))
            q.end_sessions_of(db, staff.id)
            self._audit(db, None, "staff.link", "staff", email, "", "", now)
        return token

    def remove(self, email: str) -> bool:
        email = normalize_email(email)
        with self.db.begin() as db:
            removed = q.remove_staff(db, email)
            if removed:
                self._audit(db, None, "staff.remove", "staff", email, "", "", self.clock())
            return removed

    def listing(self) -> list[StaffListing]:
        now = self.clock()
        with self.db() as db:
            return [
                StaffListing(s.email, s.role, self._state(s, now), s.created_at, alert_link.of(s))
                for s in q.all_staff(db)
            ]

    # --- the crisis alert lists (bot/console/alert_link.py) ------------------------------------
    def link_alerts(self, email: str, addresses: Mapping[str, str], region: str) -> None:
        """Record where this account is alerted: {"sms": "+1...", ...}; "" clears a channel.

        An address belongs to one account at most: a reply from it must name one person.
        """
        email, wanted = normalize_email(email), _normal_alerts(addresses, region)
        with self.db.begin() as db:
            staff = q.staff_by_email(db, email)
            if staff is None:
                raise AccountError(f"{email} has no account (see `craftbot staff list`)")
            self._link(db, staff, wanted, self.clock())

    def _link(
        self, db: Session, staff: m.Staff, wanted: dict[str, str | None], now: datetime
    ) -> None:
        taken = alert_link.taken(db, staff.id, wanted)
        if taken:
            raise AccountError(taken)
        q.set_alert_addresses(db, staff.id, wanted)
        shown = ", ".join(f"{c} {a or '(none)'}" for c, a in wanted.items())
        self._audit(db, None, "staff.alerts", "staff", staff.email, shown, "", now)

    def alerted_at(self, channel: str, address: str, region: str) -> StaffUser | None:
        """The staff member whose account carries this alert address (a reply from the phone,
        email or Telegram chat an alert went to), or None."""
        try:
            normal = alert_link.normal_address(channel, address, region)
        except ValueError:
            return None
        with self.db() as db:
            staff = q.staff_alerted_at(db, channel, normal)
            return _user(staff) if staff else None

    @staticmethod
    def _state(staff: m.Staff, now: datetime) -> str:
        if staff.setup_token_hash and staff.setup_expires_at:
            if staff.setup_expires_at > now:
                return f"set-up link pending until {staff.setup_expires_at:%Y-%m-%d %H:%M} UTC"
            return "set-up link expired (craftbot staff link EMAIL)"
        return "can sign in" if staff.password_hash else "no password"

    # --- signing in (the console) --------------------------------------------------------------
    def link_owner(self, token: str) -> StaffUser | None:
        with self.db() as db:
            staff = q.staff_by_setup_token(db, digest(token), self.clock())
            return _user(staff) if staff else None

    def set_password_by_link(self, token: str, password: str, ip: str) -> StaffUser:
        now = self.clock()
        with self.db.begin() as db:
            staff = q.staff_by_setup_token(db, digest(token), now)
            if staff is None:
                raise AccountError("this link is not valid any more: ask an admin for a new one")
            check_password_rules(password, staff.email)
            q.set_password(db, staff.id, self.hasher.hash(password))
            self._audit(db, _user(staff), "staff.password_set", "staff", staff.email, "", ip, now)
            return _user(staff)

    def check_password(self, email: str, password: str) -> StaffUser | None:
        """The account if the password is right. An unknown email costs the same argon2 work."""
        try:
            email = normalize_email(email)
        except AccountError:
            email = ""
        with self.db() as db:
            staff = q.staff_by_email(db, email) if email else None
        stored = staff.password_hash if staff and staff.password_hash else None
        try:
            self.hasher.verify(stored or self._dummy(), password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if staff is None or stored is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self.db.begin() as db:
                q.set_password(db, staff.id, self.hasher.hash(password))
        return _user(staff)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def throttled(self, email: str, ip: str, attempts: int, window: timedelta) -> bool:
        """Too many failed sign-ins lately for this email, or from this address (4x the limit).

        A password set from a new set-up link starts the email's count again: the throttled
        page tells the person to ask an admin for one."""
        email, since = email.strip().lower(), self.clock() - window
        with self.db() as db:
            _, by_ip = q.failed_logins(db, email, ip, since)
            since = q.password_set_at(db, email, since) or since
            by_email, _ = q.failed_logins(db, email, ip, since)
        return by_email >= attempts or by_ip >= 4 * attempts

    def failed_login(self, email: str, ip: str) -> None:
        with self.db.begin() as db:
            typed = email.strip().lower()[:320]
            entry = m.AuditEntry(
                at=self.clock(),
                staff_id=None,
                staff_email="(not signed in)",
                action="login.failed",
                target="staff",
                target_id=typed,
                detail="",
                ip=ip[:64],
            )
            q.record(db, entry)

    def start_session(self, user: StaffUser, hours: float, ip: str) -> str:
        token, now = secrets.token_urlsafe(32), self.clock()
        with self.db.begin() as db:
            q.start_session(db, digest(token), user.id, now, now + timedelta(hours=hours))
            self._audit(db, user, "login", "staff", user.email, "", ip, now)
        return token

    def session_user(self, token: str) -> StaffUser | None:
        with self.db() as db:
            staff = q.session_staff(db, digest(token), self.clock())
            return _user(staff) if staff else None

    def end_session(self, token: str, user: StaffUser, ip: str) -> None:
        with self.db.begin() as db:
            q.end_session(db, digest(token))
            self._audit(db, user, "logout", "staff", user.email, "", ip, self.clock())

    # --- the audit log -------------------------------------------------------------------------
    def audit(
        self,
        user: StaffUser | None,
        action: str,
        target: str = "",
        target_id: str | int = "",
        detail: str = "",
        ip: str = "",
    ) -> None:
        with self.db.begin() as db:
            self._audit(db, user, action, target, str(target_id), detail, ip, self.clock())

    @staticmethod
    def _audit(
        db: Session,
        user: StaffUser | None,
        action: str,
        target: str,
        target_id: str,
        detail: str,
        ip: str,
        now: datetime,
    ) -> None:
        q.record(
            db,
            m.AuditEntry(
                at=now,
                staff_id=user.id if user else None,
                staff_email=user.email if user else "(command line)",
                action=action,
                target=target,
                target_id=target_id[:320],
                detail=detail[:2000],
                ip=ip[:64],
            ),
        )
