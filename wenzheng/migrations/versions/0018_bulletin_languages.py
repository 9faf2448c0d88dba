"""bulletin languages: a bulletin's versions in other languages, the language a follower reads, an agency's
English name

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bulletins", sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("followers", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("agencies", sa.Column("name_en", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("agencies", "name_en")
    op.drop_column("followers", "language")
    op.drop_column("bulletins", "translations")
