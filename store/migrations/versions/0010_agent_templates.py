"""Templates agents may call as MCP tools, and the inbound event each transaction came from.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:50:00

Before it, no template was a tool, and no transaction recorded its event. SQLite gave a new
inbound event the id of one taken before (the largest id left, plus one); an id is now never
used twice (AUTOINCREMENT; PostgreSQL's sequence never reused one), so it names one event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no copy of the tables, which others' foreign keys name).
    op.add_column("template", sa.Column("agent_callable", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("transaction", sa.Column("inbound_event_id", sa.Integer(), nullable=True))
    op.create_index("ix_transaction_cycle_event", "transaction", ["cycle_id", "inbound_event_id"],
                    sqlite_where=sa.text("inbound_event_id IS NOT NULL"),
                    postgresql_where=sa.text("inbound_event_id IS NOT NULL"))
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("inboundevent", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("inboundevent", recreate="always"):
            pass
    op.drop_index("ix_transaction_cycle_event", table_name="transaction")
    with op.batch_alter_table("transaction") as batch:
        batch.drop_column("inbound_event_id")
    with op.batch_alter_table("template") as batch:
        batch.drop_column("agent_callable")
