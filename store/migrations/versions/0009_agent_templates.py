"""Templates agents may call as MCP tools, and the inbound event each transaction came from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 22:50:00

Before it, no template was a tool, and no transaction recorded its event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("template") as batch:
        batch.add_column(sa.Column("agent_callable", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("transaction") as batch:
        batch.add_column(sa.Column("inbound_event_id", sa.Integer(), nullable=True))
    op.create_index("ix_transaction_cycle_event", "transaction", ["cycle_id", "inbound_event_id"])


def downgrade() -> None:
    op.drop_index("ix_transaction_cycle_event", table_name="transaction")
    with op.batch_alter_table("transaction") as batch:
        batch.drop_column("inbound_event_id")
    with op.batch_alter_table("template") as batch:
        batch.drop_column("agent_callable")
