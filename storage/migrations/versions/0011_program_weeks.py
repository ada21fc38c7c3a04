"""Every family's program: answers to the program's own questions (safety, the loved one's
stage, their own wellbeing, lesson ratings); a picture's data on an outbox row

Revision ID: 0011_program_weeks
Revises: 0010_delivery_semantics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011_program_weeks"
down_revision = "0010_delivery_semantics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("lesson", sa.String(length=120), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("program_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_answers_contact", ["contact_id", "question", "local_date"], unique=False
        )
        batch_op.create_index("ix_program_answers_lesson", ["question", "lesson"], unique=False)
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("media")
    op.drop_table("program_answers")
