"""Connectors' partner webhooks: one URL per connector for every account, routed by a property.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00

A connector with a PartnerWebhook gets a URL of its own (and the partner's secret its vendor
signs with); each account connector keeps the value that routes events to it, indexed. No
connector could have a PartnerWebhook before, so no account connector saved before needs one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectorwebhook",
        sa.Column("connector_id", sa.String(), nullable=False),
        sa.Column("webhook_id", sa.String(), nullable=False),
        sa.Column("secret", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connector.id"]),
        sa.PrimaryKeyConstraint("connector_id"),
        sa.UniqueConstraint("webhook_id"),
    )
    with op.batch_alter_table("accountconnector") as batch:
        batch.add_column(sa.Column("partner_webhook_key", sa.String(), nullable=True))
    op.create_index("ix_accountconnector_partner_webhook_key", "accountconnector",
                    ["connector_id", "partner_webhook_key"])


def downgrade() -> None:
    op.drop_index("ix_accountconnector_partner_webhook_key", table_name="accountconnector")
    with op.batch_alter_table("accountconnector") as batch:
        batch.drop_column("partner_webhook_key")
    op.drop_table("connectorwebhook")
