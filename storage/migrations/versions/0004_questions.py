"""Ask a coach: the questions families ask and the answers sent; staff linked to alert lists;
an index the console's stats need (a family's check-in of a day)

Revision ID: 0004_questions
Revises: 0003_alert_loop
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004_questions"
down_revision = "0003_alert_loop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("prompt", sa.String(length=120), nullable=False),
        sa.Column("asked_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=320), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbound_messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index("ix_questions_contact_id", ["contact_id"], unique=False)
        batch_op.create_index("ix_questions_status_asked", ["status", "asked_at"], unique=False)
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index("ix_checkins_contact_day", ["contact_id", "local_date"], unique=False)
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_sms", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("alert_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("alert_telegram", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("alert_telegram")
        batch_op.drop_column("alert_email")
        batch_op.drop_column("alert_sms")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_contact_day")
    op.drop_table("questions")
