"""Timestamped webhook signatures, each taken once within its window.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 16:00:00

The signatures of accepted events are kept until their window closes, so a replayed request is
refused. The bare (untimestamped) signature is now taken only from steps that opt in; steps that
had a secret before this revision are opted in, so their senders go on working until they sign
with a timestamp and the step opts out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooksignature",
        sa.Column("signed_at", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("signed_at", "step_id", "signature"),
    )
    with op.batch_alter_table("cyclestep") as batch:
        batch.add_column(sa.Column("webhook_bare_signatures", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute(sa.text("UPDATE cyclestep SET webhook_bare_signatures = true WHERE webhook_secret IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("cyclestep") as batch:
        batch.drop_column("webhook_bare_signatures")
    op.drop_table("webhooksignature")
