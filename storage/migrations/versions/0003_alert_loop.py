"""the human loop: alert priority, status, acknowledgement, escalation; notes and notices

Revision ID: 0003_alert_loop
Revises: 0002_console_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003_alert_loop"
down_revision = "0002_console_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Alerts raised before this change were emergencies or follow-up answers nobody tracked:
    # they start open (urgent), so a team sees and closes them once.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tier", sa.String(length=12), nullable=False, server_default="emergency")
        )
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="open")
        )
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("acknowledged_at", storage.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("acknowledged_via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("escalate_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("escalations", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_alerts_status_at", ["status", "at"], unique=False)
        batch_op.create_index("ix_alerts_escalate_at", ["escalate_at"], unique=False)
    op.create_table(
        "alert_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_notes", schema=None) as batch_op:
        batch_op.create_index("ix_alert_notes_alert_id", ["alert_id"], unique=False)
    op.create_table(
        "alert_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbound_messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_notices", schema=None) as batch_op:
        batch_op.create_index("ix_alert_notices_alert_id", ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_notices_address", ["channel", "address"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_notices")
    op.drop_table("alert_notes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_escalate_at")
        batch_op.drop_index("ix_alerts_status_at")
        for column in (
            "escalations",
            "escalate_at",
            "close_note",
            "closed_at",
            "closed_by",
            "acknowledged_via",
            "acknowledged_at",
            "acknowledged_by",
            "status",
            "priority",
            "tier",
        ):
            batch_op.drop_column(column)
