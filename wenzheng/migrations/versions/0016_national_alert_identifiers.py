"""national alert identifiers: an agency's issuing-unit code, and the identifier each alert got from it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("issuing_unit_code", sa.String(14), nullable=True))
    with op.batch_alter_table("bulletins") as batch:
        batch.add_column(sa.Column("cap_identifier", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_bulletins_cap_identifier", ["cap_identifier"])


def downgrade() -> None:
    with op.batch_alter_table("bulletins") as batch:
        batch.drop_constraint("uq_bulletins_cap_identifier", type_="unique")
        batch.drop_column("cap_identifier")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("issuing_unit_code")
