"""The console's own tables: staff accounts, signed-in sessions, and the audit log.

Every query the console needs about its staff is here, named by what it asks, so the console's
pages hold no SQL (and this can later join storage/queries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.db import DB


def staff_by_email(db: Session, email: str) -> m.Staff | None:
    return db.execute(select(m.Staff).where(m.Staff.email == email)).scalar()


def staff_by_setup_token(db: Session, token_hash: str, now: datetime) -> m.Staff | None:
    return db.execute(
        select(m.Staff).where(
            m.Staff.setup_token_hash == token_hash, m.Staff.setup_expires_at > now
        )
    ).scalar()


ALERT_COLUMNS = {
    "sms": m.Staff.alert_sms,
    "email": m.Staff.alert_email,
    "telegram": m.Staff.alert_telegram,
}


def staff_alerted_at(db: Session, channel: str, address: str) -> m.Staff | None:
    """The account that carries this alert address (normal form), if any."""
    return db.execute(select(m.Staff).where(ALERT_COLUMNS[channel] == address)).scalar()


def email_alerted_at(db: DB, channel: str, address: str) -> str | None:
    """The email of the account that carries this alert address (normal form), if any; in a
    runtime's Core connection too."""
    return db.scalar(select(m.Staff.email).where(ALERT_COLUMNS[channel] == address))


def set_alert_addresses(db: Session, staff_id: int, addresses: dict[str, str | None]) -> None:
    """Set (or, with None, clear) the alert addresses given by channel."""
    values = {ALERT_COLUMNS[channel].key: address for channel, address in addresses.items()}
    db.execute(update(m.Staff).where(m.Staff.id == staff_id).values(**values))


def all_staff(db: Session) -> Sequence[m.Staff]:
    return db.scalars(select(m.Staff).order_by(m.Staff.email)).all()


def add_staff(db: Session, staff: m.Staff) -> int:
    db.add(staff)
    db.flush()
    return staff.id


def remove_staff(db: Session, email: str) -> bool:
    """Delete the account; its sessions go with it (the audit log keeps the email)."""
    deleted = db.execute(delete(m.Staff).where(m.Staff.email == email))
    return bool(cast(CursorResult[Any], deleted).rowcount)


def end_sessions_of(db: Session, staff_id: int) -> None:
    db.execute(delete(m.StaffSession).where(m.StaffSession.staff_id == staff_id))


def start_session(
    db: Session, token_hash: str, staff_id: int, now: datetime, until: datetime
) -> None:
    db.add(
        m.StaffSession(token_hash=token_hash, staff_id=staff_id, created_at=now, expires_at=until)
    )
    # Expired sessions of anyone are swept on each sign-in, so the table stays small.
    db.execute(delete(m.StaffSession).where(m.StaffSession.expires_at <= now))


def session_staff(db: Session, token_hash: str, now: datetime) -> m.Staff | None:
    """The staff member a live session belongs to, or None (unknown, expired, or account gone)."""
    return db.execute(
        select(m.Staff)
        .join(m.StaffSession, m.StaffSession.staff_id == m.Staff.id)
        .where(m.StaffSession.token_hash == token_hash, m.StaffSession.expires_at > now)
    ).scalar()


def end_session(db: Session, token_hash: str) -> None:
    db.execute(delete(m.StaffSession).where(m.StaffSession.token_hash == token_hash))


def set_password(db: Session, staff_id: int, password_hash: str) -> None:
    db.execute(
        update(m.Staff)
        .where(m.Staff.id == staff_id)
        .values(password_hash=password_hash, setup_token_hash=None, setup_expires_at=None)
    )


def set_setup_token(db: Session, staff_id: int, token_hash: str, expires_at: datetime) -> None:
    db.execute(
        update(m.Staff)
        .where(m.Staff.id == staff_id)
        .values(setup_token_hash=token_hash, setup_expires_at=expires_at)
    )


# --- the audit log ---------------------------------------------------------------------------
def record(db: Session, entry: m.AuditEntry) -> None:
    db.add(entry)


def failed_logins(db: Session, email: str, ip: str, since: datetime) -> tuple[int, int]:
    """Failed sign-ins since `since`: (for this email, from this address)."""
    rows = db.execute(
        select(m.AuditEntry.target_id, m.AuditEntry.ip).where(
            m.AuditEntry.action == "login.failed",
            m.AuditEntry.at > since,
            or_(m.AuditEntry.target_id == email, m.AuditEntry.ip == ip),
        )
    ).all()
    return sum(1 for r in rows if r[0] == email), sum(1 for r in rows if r[1] == ip)


def password_set_at(db: Session, email: str, since: datetime) -> datetime | None:
    """When this account last set its password from a set-up link after `since`, if it did."""
    return db.scalar(
        select(func.max(m.AuditEntry.at)).where(
            m.AuditEntry.action == "staff.password_set",
            m.AuditEntry.target_id == email,
            m.AuditEntry.at > since,
        )
    )


def recent_audit(db: Session, limit: int, action_prefix: str = "") -> Sequence[m.AuditEntry]:
    query = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(m.AuditEntry.action.startswith(action_prefix))
    return db.scalars(query).all()


def audit_of(db: Session, target: str, target_ids: Sequence[str]) -> Sequence[m.AuditEntry]:
    """Every entry about these targets (e.g. alerts 3 and 7), oldest first."""
    if not target_ids:
        return []
    return db.scalars(
        select(m.AuditEntry)
        .where(m.AuditEntry.target == target, m.AuditEntry.target_id.in_(list(target_ids)))
        .order_by(m.AuditEntry.id)
    ).all()
