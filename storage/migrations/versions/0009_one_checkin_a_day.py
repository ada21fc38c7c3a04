"""One check-in a family's day: a later answer the same local day replaces the earlier one.

Rows recorded twice for a day before this revision keep the latest answer (the highest id); the
index on (contact, local day) becomes unique.

Revision ID: 0009_one_checkin_a_day
Revises: 0008_reply_to
"""

from __future__ import annotations

from alembic import op

revision = "0009_one_checkin_a_day"
down_revision = "0008_reply_to"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM checkins WHERE local_date IS NOT NULL AND id NOT IN ("
        "SELECT MAX(id) FROM checkins WHERE local_date IS NOT NULL "
        "GROUP BY contact_id, local_date)"
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_contact_day")
        batch_op.create_index("uq_checkins_contact_day", ["contact_id", "local_date"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("uq_checkins_contact_day")
        batch_op.create_index("ix_checkins_contact_day", ["contact_id", "local_date"], unique=False)
