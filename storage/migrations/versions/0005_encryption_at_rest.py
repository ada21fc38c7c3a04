"""Encryption at rest: the free text columns hold Fernet tokens (docs/privacy.md); the rows
written before are encrypted here with the first DATA_KEYS key (the development key without it)

Revision ID: 0005_encryption_at_rest
Revises: 0004_questions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from storage.reencrypt import renew_column
from storage.types import cipher_of

revision = "0005_encryption_at_rest"
down_revision = "0004_questions"
branch_labels = None
depends_on = None

# As of this revision (a later one adds its own): every column that holds a family's words.
ENCRYPTED = (
    ("contacts", "loved_one"),
    ("contacts", "session"),
    ("consents", "words"),
    ("inbound_messages", "text"),
    ("outbound_messages", "text"),
    ("outbound_messages", "subject"),
    ("alerts", "matched"),
    ("alerts", "text"),
    ("alerts", "close_note"),
    ("alert_notes", "text"),
    ("questions", "text"),
    ("questions", "answer"),
)
# A token is longer than the text: these were sized for the text. (SQLite does not check sizes.)
WIDENED = (("contacts", "loved_one", 80), ("outbound_messages", "subject", 200))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        for table, column, length in WIDENED:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))
    cipher = cipher_of(conn.dialect)
    for table, column in ENCRYPTED:
        for _ in renew_column(conn, cipher, table, column):
            pass


def downgrade() -> None:
    # Decrypting everything back would put every conversation in plain text again: refuse.
    raise CommandError("encryption at rest is not undone; restore a backup instead")
