"""case flow: working-day calendars, P0 acknowledgement, round-robin assignment, split, transfer, rating

calendar_exceptions: an agency's holidays and make-up working days (调休).
case_transfers: proposals to hand a case to another agency, accepted or declined there.
cases: split_from_id, acknowledged_at/_by_id, rating_requested_at, rating, rated_at; indexes on the
self-references merged_into_id and split_from_id (deleting cases checks them).
departments: last_assignee_id (the round-robin pointer).
memberships: department_id, on_duty, capacity.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 06:43:18.570087
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_calendar_exceptions_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_exceptions")),
        sa.UniqueConstraint("agency_id", "day", name=op.f("uq_calendar_exceptions_agency_id_day")),
    )
    op.create_table(
        "case_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("to_agency_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decline_reason", sa.String(length=500), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_case_transfers_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_transfers_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_case_transfers_decided_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_case_transfers_proposed_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["to_agency_id"], ["agencies.id"], name=op.f("fk_case_transfers_to_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
    )
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.create_index("ix_case_transfers_agency_id_state", ["agency_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_transfers_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_case_transfers_to_agency_id_state", ["to_agency_id", "state"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("split_from_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rating_requested_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rated_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_split_from_id_cases"), "cases", ["split_from_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_cases_merged_into_id", ["merged_into_id"], unique=False)
        batch_op.create_index("ix_cases_split_from_id", ["split_from_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_acknowledged_by_id_users"),
            "users",
            ["acknowledged_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_assignee_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_departments_last_assignee_id_users"),
            "users",
            ["last_assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("on_duty", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), server_default=sa.text("20"), nullable=False))
        batch_op.create_index(batch_op.f("ix_memberships_department_id"), ["department_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_memberships_department_id_departments"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_memberships_department_id"))
        batch_op.drop_column("capacity")
        batch_op.drop_column("on_duty")
        batch_op.drop_column("department_id")

    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_departments_last_assignee_id_users"), type_="foreignkey")
        batch_op.drop_column("last_assignee_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_split_from_id")
        batch_op.drop_index("ix_cases_merged_into_id")
        batch_op.drop_constraint(batch_op.f("fk_cases_acknowledged_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_cases_split_from_id_cases"), type_="foreignkey")
        batch_op.drop_column("rated_at")
        batch_op.drop_column("rating")
        batch_op.drop_column("rating_requested_at")
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("split_from_id")

    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_case_transfers_to_agency_id_state")
        batch_op.drop_index(batch_op.f("ix_case_transfers_case_id"))
        batch_op.drop_index("ix_case_transfers_agency_id_state")

    op.drop_table("case_transfers")
    op.drop_table("calendar_exceptions")
