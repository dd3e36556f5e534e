"""Signed events to the partner's backend: its endpoints, the events, their deliveries and attempts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 12:00:00

New tables only: nothing before this revision emitted events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eventendpoint",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eventendpoint_account_id", "eventendpoint", ["account_id"])
    op.create_table(
        "partnerevent",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partnerevent_created_at", "partnerevent", ["created_at"])
    op.create_table(
        "eventdelivery",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("endpoint_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["eventendpoint.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["partnerevent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "endpoint_id"),
    )
    op.create_index("ix_eventdelivery_due", "eventdelivery", ["status", "next_attempt_at"])
    op.create_index("ix_eventdelivery_event_id", "eventdelivery", ["event_id"])
    op.create_index("ix_eventdelivery_endpoint_id", "eventdelivery", ["endpoint_id"])
    op.create_index("ix_eventdelivery_account_id", "eventdelivery", ["account_id"])
    op.create_table(
        "deliveryattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("response", sa.String(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["eventdelivery.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deliveryattempt_delivery_id", "deliveryattempt", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("deliveryattempt")
    op.drop_table("eventdelivery")
    op.drop_table("partnerevent")
    op.drop_table("eventendpoint")
