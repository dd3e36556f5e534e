"""The connector methods a partner exposes to agents as MCP tools.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:10:00

A new table only: before it, no method was a tool.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenttools",
        sa.Column("connector_id", sa.String(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connector.id"]),
        sa.PrimaryKeyConstraint("connector_id"),
    )


def downgrade() -> None:
    op.drop_table("agenttools")
