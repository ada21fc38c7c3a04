"""Answers at any hour: an outbox row says which inbound message it answers (null: the program
started it), so quiet hours hold only what the program starts (docs/architecture.md)

Revision ID: 0008_reply_to
Revises: 0007_family_privacy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reply_to"
down_revision = "0007_family_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this change are taken as the program's: quiet hours hold them, as
    # they did when they were written.
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_reply_to", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("in_reply_to")
