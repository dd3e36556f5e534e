"""The schema of the last release without migrations, as its create_all made it.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:22:11.494591

A database made by that release is stamped at this revision (store/schema.py), not upgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("retention_days", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "connector",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "lease",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "ratecall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ratecall_at"), "ratecall", ["at"], unique=False)
    op.create_index(op.f("ix_ratecall_bucket"), "ratecall", ["bucket"], unique=False)
    op.create_table(
        "storageitem",
        sa.Column("scope_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "key"),
    )
    op.create_table(
        "template",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "variable",
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "name"),
    )
    op.create_table(
        "connectorrelease",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("connector_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connector.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_connectorrelease_connector_id"), "connectorrelease", ["connector_id"], unique=False
    )
    op.create_table(
        "cycle",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_owner", sa.String(), nullable=True),
        sa.Column("status_seq", sa.Integer(), nullable=False),
        sa.Column("status_reason", sa.String(), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("collection_split", sa.String(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval_minutes", sa.Float(), nullable=True),
        sa.Column("run_once", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycle_account_id"), "cycle", ["account_id"], unique=False)
    op.create_index(op.f("ix_cycle_template_id"), "cycle", ["template_id"], unique=False)
    op.create_table(
        "signintoken",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "templateversion",
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["template.id"],
        ),
        sa.PrimaryKeyConstraint("template_id", "version"),
    )
    op.create_table(
        "accountconnector",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("connector_id", sa.String(), nullable=False),
        sa.Column("release_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("authentication", sa.String(), nullable=True),
        sa.Column("auth_value", sa.String(), nullable=True),
        sa.Column("properties", sa.String(), nullable=True),
        sa.Column("oauth_token", sa.String(), nullable=True),
        sa.Column("authenticated", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("status_reason", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connector.id"],
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["connectorrelease.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_accountconnector_account_id"), "accountconnector", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_accountconnector_connector_id"), "accountconnector", ["connector_id"], unique=False
    )
    op.create_table(
        "inboundevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycle.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_inboundevent_cycle_id"), "inboundevent", ["cycle_id"], unique=False)
    op.create_table(
        "plan",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("cycle_id", sa.String(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycle.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_plan_cycle_id"), "plan", ["cycle_id"], unique=False)
    op.create_table(
        "customfieldset",
        sa.Column("account_connector_id", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_connector_id"],
            ["accountconnector.id"],
        ),
        sa.PrimaryKeyConstraint("account_connector_id", "method"),
    )
    op.create_table(
        "cyclestep",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("cycle_id", sa.String(), nullable=False),
        sa.Column("template_step_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("connector_name", sa.String(), nullable=True),
        sa.Column("release_id", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("account_connector_id", sa.String(), nullable=True),
        sa.Column("last_successful_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("webhook_secret", sa.String(), nullable=True),
        sa.Column("webhook_subscription", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_connector_id"],
            ["accountconnector.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycle.id"],
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["connectorrelease.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id"),
    )
    op.create_index(op.f("ix_cyclestep_cycle_id"), "cyclestep", ["cycle_id"], unique=False)
    op.create_table(
        "oauthstate",
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("account_connector_id", sa.String(), nullable=False),
        sa.Column("code_verifier", sa.String(), nullable=False),
        sa.Column("target_origin", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_connector_id"],
            ["accountconnector.id"],
        ),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("cycle_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("errored", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycle.id"],
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "number"),
    )
    op.create_index(op.f("ix_run_cycle_id"), "run", ["cycle_id"], unique=False)
    op.create_index(op.f("ix_run_finished_at"), "run", ["finished_at"], unique=False)
    op.create_index(op.f("ix_run_plan_id"), "run", ["plan_id"], unique=False)
    op.create_table(
        "fieldmapping",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["cyclestep.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_id", "field"),
    )
    op.create_index(op.f("ix_fieldmapping_step_id"), "fieldmapping", ["step_id"], unique=False)
    op.create_table(
        "transaction",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("cycle_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("exchange", sa.JSON(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycle.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq"),
    )
    op.create_index(
        "ix_transaction_cycle_created", "transaction", ["cycle_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_transaction_cycle_status", "transaction", ["cycle_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_transaction_cycle_status", table_name="transaction")
    op.drop_index("ix_transaction_cycle_created", table_name="transaction")
    op.drop_table("transaction")
    op.drop_index(op.f("ix_fieldmapping_step_id"), table_name="fieldmapping")
    op.drop_table("fieldmapping")
    op.drop_index(op.f("ix_run_plan_id"), table_name="run")
    op.drop_index(op.f("ix_run_finished_at"), table_name="run")
    op.drop_index(op.f("ix_run_cycle_id"), table_name="run")
    op.drop_table("run")
    op.drop_table("oauthstate")
    op.drop_index(op.f("ix_cyclestep_cycle_id"), table_name="cyclestep")
    op.drop_table("cyclestep")
    op.drop_table("customfieldset")
    op.drop_index(op.f("ix_plan_cycle_id"), table_name="plan")
    op.drop_table("plan")
    op.drop_index(op.f("ix_inboundevent_cycle_id"), table_name="inboundevent")
    op.drop_table("inboundevent")
    op.drop_index(op.f("ix_accountconnector_connector_id"), table_name="accountconnector")
    op.drop_index(op.f("ix_accountconnector_account_id"), table_name="accountconnector")
    op.drop_table("accountconnector")
    op.drop_table("templateversion")
    op.drop_table("signintoken")
    op.drop_index(op.f("ix_cycle_template_id"), table_name="cycle")
    op.drop_index(op.f("ix_cycle_account_id"), table_name="cycle")
    op.drop_table("cycle")
    op.drop_index(op.f("ix_connectorrelease_connector_id"), table_name="connectorrelease")
    op.drop_table("connectorrelease")
    op.drop_table("variable")
    op.drop_table("template")
    op.drop_table("storageitem")
    op.drop_index(op.f("ix_ratecall_bucket"), table_name="ratecall")
    op.drop_index(op.f("ix_ratecall_at"), table_name="ratecall")
    op.drop_table("ratecall")
    op.drop_table("lease")
    op.drop_table("connector")
    op.drop_table("account")
