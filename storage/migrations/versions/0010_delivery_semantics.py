"""Delivery semantics: every outbox row ends sent, failed (with a reason), expired or cancelled;
a row expires (a lesson after its day; a crisis reply never); a channel's pace shared by every
process

Revision ID: 0010_delivery_semantics
Revises: 0009_one_checkin_a_day
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010_delivery_semantics"
down_revision = "0009_one_checkin_a_day"
branch_labels = None
depends_on = None

# The final statuses before this change, as (status, reason) now.
RENAMED = {
    "suppressed": ("cancelled", "opted_out"),
    "opted_out": ("failed", "opted_out"),
    "invalid": ("failed", "invalid_address"),
    "undelivered": ("failed", "undelivered"),
    "bounced": ("failed", "bounced"),
}


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
    op.create_table(
        "channel_pace",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )
    outbox = sa.table("outbound_messages", sa.column("status"), sa.column("reason"))
    for old, (status, reason) in RENAMED.items():
        op.execute(
            outbox.update().where(outbox.c.status == old).values(status=status, reason=reason)
        )


def downgrade() -> None:
    outbox = sa.table("outbound_messages", sa.column("status"), sa.column("reason"))
    for old, (status, reason) in RENAMED.items():
        op.execute(
            outbox.update()
            .where(outbox.c.status == status, outbox.c.reason == reason)
            .values(status=old)
        )
    op.drop_table("channel_pace")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("expires_at")
