"""queue indexes: the queue's order and its counts read off indexes; urgency always set

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 07:18:10.909149
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE cases SET urgency = 'P2' WHERE urgency IS NULL")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column(
            "urgency", existing_type=sa.VARCHAR(length=2), nullable=False, server_default=sa.text("'P2'")
        )
        batch_op.create_index(
            "ix_cases_agency_id_assignee_id_state_urgency",
            ["agency_id", "assignee_id", "state", "urgency"],
            unique=False,
        )
        batch_op.create_index(
            "ix_cases_agency_id_department_id_state_urgency",
            ["agency_id", "department_id", "state", "urgency"],
            unique=False,
        )
        batch_op.create_index(
            "ix_cases_agency_id_intent_state_urgency", ["agency_id", "intent", "state", "urgency"], unique=False
        )
        batch_op.create_index("ix_cases_agency_id_updated_at", ["agency_id", "updated_at"], unique=False)
    # Outside the batch: a descending column is an expression, which SQLite's table copy cannot carry.
    op.create_index(
        "ix_cases_queue_order", "cases", ["agency_id", "urgency", sa.text("score DESC"), "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_queue_order", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_agency_id_updated_at")
        batch_op.drop_index("ix_cases_agency_id_intent_state_urgency")
        batch_op.drop_index("ix_cases_agency_id_department_id_state_urgency")
        batch_op.drop_index("ix_cases_agency_id_assignee_id_state_urgency")
        batch_op.alter_column("urgency", existing_type=sa.VARCHAR(length=2), nullable=True, server_default=None)
