"""The audit log's detail is encrypted at rest too: it repeats the notes staff write when they
close an alert or a question (docs/privacy.md)

Revision ID: 0006_audit_detail_encrypted
Revises: 0005_encryption_at_rest
"""

from __future__ import annotations

from alembic import op
from alembic.util import CommandError

from storage.reencrypt import renew_column
from storage.types import cipher_of

revision = "0006_audit_detail_encrypted"
down_revision = "0005_encryption_at_rest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for _ in renew_column(conn, cipher_of(conn.dialect), "audit_log", "detail"):
        pass


def downgrade() -> None:
    raise CommandError("encryption at rest is not undone; restore a backup instead")
