"""SQLModel tables: the durable record of what partners configured and what runs did."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Account(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    timezone: str = "UTC"
    retention_days: float | None = None  # runs and transactions kept; the server's default when None
    created_at: datetime = Field(default_factory=utcnow)


DRAFT_OR_LIVE = "status IN ('Draft', 'Live')"


class Connector(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class ConnectorRelease(SQLModel, table=True):
    """One version of a connector's JSON; at most one Draft and one Live per connector."""

    __table_args__ = (  # the database holds that, against two uploads or publishes at once
        Index("uq_connectorrelease_draft_live", "connector_id", "status", unique=True,
              sqlite_where=text(DRAFT_OR_LIVE), postgresql_where=text(DRAFT_OR_LIVE)),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    connector_id: str = Field(foreign_key="connector.id", index=True)
    version: str
    status: str  # Draft | Live | Deprecated
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ConnectorWebhook(SQLModel, table=True):
    """A connector's partner webhook (its PartnerWebhook): the unguessable id of its one URL
    for every account, and the partner's secret (encrypted) its vendor signs events with."""

    connector_id: str = Field(foreign_key="connector.id", primary_key=True)
    webhook_id: str = Field(unique=True)
    secret: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AccountConnector(SQLModel, table=True):
    """A connector installed into an account, with its credentials encrypted at rest."""

    # Events at the connector's partner webhook find their account connectors by it.
    __table_args__ = (Index("ix_accountconnector_partner_webhook_key", "connector_id", "partner_webhook_key"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    connector_id: str = Field(foreign_key="connector.id", index=True)
    release_id: str = Field(foreign_key="connectorrelease.id")
    name: str
    authentication: str | None = None  # Authentication Name; the default entry when None
    auth_value: str | None = None  # encrypted
    properties: str | None = None  # encrypted JSON object
    oauth_token: str | None = None  # encrypted JSON (connectors.oauth.Token)
    authenticated: bool = False  # the credentials are all there (what activation needs)
    verified: bool = False  # a call proved them: the AuthTestMethod, or an OAuth2 token issued
    status_reason: str | None = None  # why it is not authenticated or not verified
    # The value of its connector's PartnerWebhook AccountProperty (an id at the vendor, in the clear)
    partner_webhook_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CustomFieldSet(SQLModel, table=True):
    """The custom fields an account connector's lookups found for one of its methods (store/custom_fields.py)."""

    account_connector_id: str = Field(foreign_key="accountconnector.id", primary_key=True)
    method: str = Field(primary_key=True)  # its UniqueIdentifier
    # FieldSpec documents by format: {"RequestFormat": [...], "ResponseFormat": [...]}
    fields: dict[str, list[dict[str, Any]]] = Field(sa_column=Column(JSON, nullable=False))
    skipped: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))  # [{"Path", "Message"}]
    refreshed_at: datetime = Field(default_factory=utcnow)


class SignInToken(SQLModel, table=True):
    """A single-use, short-lived token for a connector authentication link."""

    token_hash: str = Field(primary_key=True)
    account_id: str = Field(foreign_key="account.id")
    expires_at: datetime
    used: bool = False


class OAuthState(SQLModel, table=True):
    """An authorisation in progress: the consent page's `state`, its PKCE verifier, where to return."""

    state: str = Field(primary_key=True)
    account_connector_id: str = Field(foreign_key="accountconnector.id")
    code_verifier: str  # encrypted
    target_origin: str
    expires_at: datetime


class Template(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    version: int = 1
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    agent_callable: bool = False  # agents may run its cycles as MCP tools (api/agents/template_tools.py)
    created_at: datetime = Field(default_factory=utcnow)


class Cycle(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    template_id: str = Field(foreign_key="template.id", index=True)
    name: str
    status: str = "Paused"  # Paused | Active | Stopping | Stopped | Errored
    # Who wrote `status` last: the cycle workflow's first run id and its write counter, so a
    # write that arrives late never overwrites a newer one (see store/runs.save_cycle_status).
    status_owner: str | None = None
    status_seq: int = 0
    status_reason: str | None = None  # why it is Paused or Errored, when not by a person's call
    template_version: int = 1
    collection_split: str = "First"
    start_time: datetime | None = None
    interval_minutes: float | None = None
    run_once: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class CycleStep(SQLModel, table=True):
    """A template step copied into a cycle and bound to the account's connectors."""

    id: str = Field(default_factory=new_id, primary_key=True)
    cycle_id: str = Field(foreign_key="cycle.id", index=True)
    template_step_id: str
    position: int
    name: str
    type: str
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the step, less its FieldMappings
    connector_name: str | None = None
    release_id: str | None = Field(default=None, foreign_key="connectorrelease.id")
    method: str | None = None
    account_connector_id: str | None = Field(default=None, foreign_key="accountconnector.id")
    last_successful_run_at: datetime | None = None  # {{LastSuccessfulRunDate}}
    # A Webhook step: the unguessable id of its URL, the HMAC secret (encrypted) events are
    # signed with, whether it also takes the bare (untimestamped, replayable) signature, and the
    # id the connector gave its subscription ({{Webhook_Id}}).
    webhook_id: str | None = Field(default=None, unique=True)
    webhook_secret: str | None = None
    webhook_bare_signatures: bool = False
    webhook_subscription: str | None = None


class FieldMapping(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("step_id", "field"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    step_id: str = Field(foreign_key="cyclestep.id", index=True)
    field: str  # the SystemField (or parameter) it fills
    mapping: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # a MappingSpec


class Plan(SQLModel, table=True):
    """A cycle's steps and mappings as a run (or a transaction retry) found them at its start."""

    id: str = Field(default_factory=new_id, primary_key=True)
    cycle_id: str = Field(foreign_key="cycle.id", index=True)
    steps: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("cycle_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    cycle_id: str = Field(foreign_key="cycle.id", index=True)
    number: int
    plan_id: str = Field(foreign_key="plan.id", index=True)  # deleting a plan asks whether a run uses it
    status: str = "Running"  # Running | Succeeded | Failed | Cancelled
    workflow_id: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = Field(default=None, index=True)
    succeeded: int = 0
    errored: int = 0
    stopped: int = 0
    message: str | None = None
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class InboundEvent(SQLModel, table=True):
    """A webhook event acknowledged (202) and not yet taken into a run: the inbound queue."""

    __table_args__ = {"sqlite_autoincrement": True}  # an id is never used again: transactions name their event by it

    id: int | None = Field(default=None, primary_key=True)  # ascending: runs take events in order
    cycle_id: str = Field(foreign_key="cycle.id", index=True)
    step_id: str  # the cycle's Webhook step
    body: str  # the raw JSON, as posted
    received_at: datetime = Field(default_factory=utcnow)


class WebhookSignature(SQLModel, table=True):
    """A timestamped webhook signature an accepted event came with, kept until its window closes
    so that a replay of the request is refused (see store/signatures.py). Keyed by its time
    first: each commit's signatures land together in the key, not at random places, and those
    past the window are one range to delete."""

    signed_at: int = Field(sa_type=BigInteger, primary_key=True)  # its timestamp: epoch seconds
    step_id: str = Field(primary_key=True)  # the cycle's Webhook step
    signature: str = Field(primary_key=True)  # the hex HMAC (v1)


class Lease(SQLModel, table=True):
    """Work one process at a time does (see store/leases.py)."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime


class RateCall(SQLModel, table=True):
    """One call counted against a rate-limit bucket (see store/limiter.py)."""

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(index=True)
    at: float = Field(index=True)  # epoch seconds


class Transaction(SQLModel, table=True):
    """One record's way through a run: the transaction store (DESIGN §4).

    Records live here and nowhere else: workflows see only sequence numbers and counts.
    """

    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        Index("ix_transaction_cycle_status", "cycle_id", "status"),
        Index("ix_transaction_cycle_created", "cycle_id", "created_at"),
        # Partial: only transactions made from webhook events are in it, so others cost it nothing.
        Index("ix_transaction_cycle_event", "cycle_id", "inbound_event_id",
              sqlite_where=text("inbound_event_id IS NOT NULL"), postgresql_where=text("inbound_event_id IS NOT NULL")),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    run_id: str = Field(foreign_key="run.id")
    cycle_id: str = Field(foreign_key="cycle.id")
    account_id: str
    seq: int  # from 1 in each run, fixed by the trigger page the record came from
    status: str  # Pending | Success | Errored | Stopped
    step: str  # template step id: where it waits (Pending) or where it ended
    path: list[str] = Field(sa_column=Column(JSON, nullable=False))  # steps entered, in order
    records: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # step id -> its record
    message: str | None = None  # why it errored or stopped (or an ignored step error)
    exchange: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # failing request/response
    retries: int = 0
    inbound_event_id: int | None = None  # the webhook event it came from (store/inbound.py take)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StorageItem(SQLModel, table=True):
    """A value a template's Storage step keeps, scoped to a cycle or an account (see store/storage.py)."""

    scope_id: str = Field(primary_key=True)  # the cycle id or the account id
    key: str = Field(primary_key=True)
    number: float | None = None  # a number, so that incrementing it is one statement
    text: str | None = None  # anything else, JSON-encoded
    updated_at: datetime = Field(default_factory=utcnow)


class Variable(SQLModel, table=True):
    """A cycle or account variable, for `Variable` field mappings (see store/variables.py)."""

    owner_id: str = Field(primary_key=True)  # the cycle id or the account id
    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = Field(default_factory=utcnow)


class TemplateVersion(SQLModel, table=True):
    """One version of a template's document, as it was uploaded: cycles keep the version they installed."""

    template_id: str = Field(foreign_key="template.id", primary_key=True)
    version: int = Field(primary_key=True)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class OpenApiImport(SQLModel, table=True):
    """An OpenAPI document imported in the background (store/imports.py): the document, until the
    import ends, then what came of it."""

    id: str = Field(default_factory=new_id, primary_key=True)
    status: str = "Running"  # Running | Succeeded | Failed
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # emptied once it ends
    options: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # what the partner chose
    operations: int | None = None  # in the document, once it is read
    converted: int = 0  # operations made methods so far
    connector_id: str | None = None
    release_id: str | None = None  # the Draft it made
    message: str | None = None  # why it failed
    problems: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    skipped: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)  # the import's last sign of life
    finished_at: datetime | None = None


class EventEndpoint(SQLModel, table=True):
    """Where the partner's backend takes signed events (store/event_endpoints.py): every
    account's, or one account's; the event types it takes; the secret it verifies them with."""

    id: str = Field(default_factory=new_id, primary_key=True)
    url: str
    account_id: str | None = Field(default=None, foreign_key="account.id", index=True)  # None: every account's
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str | None = None
    secret: str  # encrypted
    created_at: datetime = Field(default_factory=utcnow)


class PartnerEvent(SQLModel, table=True):
    """Something that happened, for the partner's backend: written in the commit of the change
    that caused it, with a delivery for each endpoint that takes it (store/partner_events.py)."""

    id: str = Field(default_factory=new_id, primary_key=True)  # the event id every attempt carries
    type: str
    account_id: str | None = None  # no key: the event outlives a deleted account
    body: str  # the JSON every attempt sends, fixed when it happened
    created_at: datetime = Field(default_factory=utcnow, index=True)


class EventDelivery(SQLModel, table=True):
    """An event on its way to one endpoint (store/event_deliveries.py): Pending until an
    attempt is answered 2xx (Delivered) or its attempts or its age run out (Failed)."""

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_eventdelivery_due", "status", "next_attempt_at"),  # what dispatchers look for
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    event_id: str = Field(foreign_key="partnerevent.id", index=True)
    endpoint_id: str = Field(foreign_key="eventendpoint.id", index=True)
    event_type: str  # the event's, for filtering
    account_id: str | None = Field(default=None, index=True)  # the event's, for filtering
    status: str = "Pending"  # Pending | Delivered | Failed
    attempts: int = 0  # made since it was queued (or replayed): the bound counts these
    next_attempt_at: datetime | None = None  # when Pending; a dispatcher's claim pushes it on while it sends
    claim: str | None = None  # the dispatcher's claim it was last taken under
    queued_at: datetime = Field(default_factory=utcnow)  # created or replayed: its age counts from here
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryAttempt(SQLModel, table=True):
    """One request of a delivery, and what the receiver answered (or why nothing was)."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="eventdelivery.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    status_code: int | None = None  # the receiver's HTTP status; None: no answer
    error: str | None = None  # why there was no answer (refused, timed out, the egress policy)
    response: str | None = None  # the start of the receiver's answer
    seconds: float = 0.0  # how long the request took


class AgentTools(SQLModel, table=True):
    """Which of a connector's methods agents may call as MCP tools (api/agents/), and which of
    those writes wait for a person's approval: the partner's choice, nothing by default."""

    connector_id: str = Field(foreign_key="connector.id", primary_key=True)
    # [{"Method": UniqueIdentifier, "Approval": bool, "ApprovalTimeoutMinutes": float}]
    methods: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class ToolCall(SQLModel, table=True):
    """An agent's write (store/tool_calls.py): one per account and call key (its id derives from
    them), its request and outcome encrypted at rest; its workflow carries only the id."""

    __table_args__ = (Index("ix_toolcall_account_created", "account_id", "created_at"),)

    id: str = Field(primary_key=True)  # store.tool_calls.call_id(account, key): also the Idempotency-Key sent
    account_id: str = Field(foreign_key="account.id")
    account_connector_id: str
    method: str
    tool: str
    status: str  # AwaitingApproval | Running | Completed | Failed | Rejected | Expired
    arguments: str  # encrypted JSON {"Parameters": {...}, "Fields": {...}}
    masked: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # names shown as ***
    result: str | None = None  # encrypted JSON: the method's records, bounded
    result_truncated: bool = False
    error: str | None = None  # why it failed, naming the party (no record values)
    approval: bool = False
    expires_at: datetime | None = None  # an unanswered approval expires then
    decided_at: datetime | None = None
    decided_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class PortalSession(SQLModel, table=True):
    """A connect portal opened for one account (api/routers/portal_sessions.py): what it lists,
    where it may be embedded, how it looks; its token expires with it."""

    id: str = Field(default_factory=new_id, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    options: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # as the partner gave them
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
