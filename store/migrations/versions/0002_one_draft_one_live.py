"""At most one Draft and one Live release per connector, held by the database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:10:00

Two uploads or publishes of one connector at once could each see no Draft (or the same Live)
and both write; now the second fails on this index and answers 409.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DRAFT_OR_LIVE = "status IN ('Draft', 'Live')"


def upgrade() -> None:
    op.create_index("uq_connectorrelease_draft_live", "connectorrelease", ["connector_id", "status"], unique=True,
                    sqlite_where=sa.text(DRAFT_OR_LIVE), postgresql_where=sa.text(DRAFT_OR_LIVE))


def downgrade() -> None:
    op.drop_index("uq_connectorrelease_draft_live", table_name="connectorrelease")
