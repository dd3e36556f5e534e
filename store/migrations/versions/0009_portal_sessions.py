"""Portal sessions: the connect portal a partner opens for one of its accounts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 18:00:00

A session keeps the options the partner chose (templates listed, origins that may embed it,
theme, locale, return URL) until it expires; its token carries its id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portalsession",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_portalsession_account_id", "portalsession", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_portalsession_account_id", table_name="portalsession")
    op.drop_table("portalsession")
