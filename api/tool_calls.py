"""Agents' writes: a Temporal workflow per tool call (workflows/tool_call.py), one per account
and call key, optionally held for a person's approval. The MCP server's write tools and the
REST routes (api/routers/tool_calls.py) both go through this module.

A write is checked before anything starts (its account connector, a write method, the
arguments against the method's input checks: ApiError 422 naming each problem); its request
and outcome are kept in the store (store/tool_calls.py), encrypted; the workflow's id derives
from the account and the call's id, which derives from the key: the same key again finds the
same call (the same workflow, one send), and the call's id is the Idempotency-Key it is sent
with.

`arguments` are `{"Parameters": {name: value}, "Fields": {SystemField: value}}`, as data on
demand takes them (`POST /v1.0/account/connectors/{id}/methods/{method}`); problems with them
are named `$.Arguments.Parameters.<name>` and `$.Arguments.Fields.<SystemField>`.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.dependencies import TEMPORAL_TIMEOUT
from api.errors import ApiError, not_found
from connectors import ConnectorError, Problem
from connectors.call import call_parameters, check_input
from connectors.dates import OUTSIDE_A_RUN
from connectors.errors import InvalidInput, UnknownParameter
from connectors.exchange import shown_json
from connectors.spec import Connector, Method
from runtime.settings import TASK_QUEUE
from store import tool_calls
from store.agent_tools import READS
from store.custom_fields import load_callable
from store.database import session
from store.problems import json_path
from store.tables import ToolCall, utcnow
from workflows.cycle import ACCOUNT_ID
from workflows.messages import ToolCallDecision, ToolCallInput
from workflows.tool_call import ToolCallWorkflow

ToolCallStatus = Literal["AwaitingApproval", "Running", "Completed", "Failed", "Rejected", "Expired"]
STATUSES: tuple[str, ...] = ToolCallStatus.__args__  # type: ignore[attr-defined]
KEY_LIMIT = 255
TOOL_LIMIT = 128
LONGEST_APPROVAL = timedelta(days=30)


@dataclass(frozen=True)
class WriteRequest:
    account_id: str
    account_connector_id: str  # the account's connector the method belongs to
    method: str  # the connector method's name (its UniqueIdentifier)
    arguments: dict[str, Any] = field(default_factory=dict)  # {"Parameters": {...}, "Fields": {...}}
    call_key: str = ""  # the idempotency key: the MCP request id or a client-supplied key
    tool: str = ""  # the tool's name, for listings and the Web UI summary
    approval: bool = False  # hold for a person's approval before anything is sent
    approval_timeout: timedelta = timedelta(hours=24)


class ToolCallLinks(BaseModel):
    Self: str = Field(description="GET it to poll the call")
    Approve: str | None = Field(default=None, description="POST to approve it (while AwaitingApproval)")
    Reject: str | None = Field(default=None, description="POST to reject it (while AwaitingApproval)")


class ToolCallView(BaseModel):
    """A tool call as the API and the MCP server show it: its request and result masked, bounded."""

    Id: str
    Tool: str
    Connector: str = Field(description="the account connector's id")
    Method: str
    Status: ToolCallStatus
    Request: dict[str, Any] = Field(description="the call's arguments, secrets masked")
    Result: list[dict[str, Any]] | None = Field(default=None, description="the method's records, secrets masked")
    ResultTruncated: bool = Field(default=False, description="records were left out to keep the result bounded")
    Error: str | None = Field(default=None, description="why it failed, naming the party at fault")
    CreatedAt: datetime
    ExpiresAt: datetime | None = Field(default=None, description="when an unanswered approval expires")
    DecidedAt: datetime | None = None
    DecidedBy: str | None = None
    Links: ToolCallLinks


class ToolCallPage(BaseModel):
    Items: list[ToolCallView]
    Total: int
    Pages: int


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Parameters: dict[str, str | list[str]] = {}
    Fields: dict[str, Any] = {}


def workflow_id(account_id: str, call_id: str) -> str:
    return f"tool-call/{account_id}/{call_id}"


async def submit_write(request: WriteRequest, wait: timedelta = timedelta(seconds=30), *,
                       temporal: Client) -> ToolCallView:
    """The call `request` names, started once per (account, call_key): the same key again
    answers the same call (409 if it named another request). Waits up to `wait` for it to end
    (not while it awaits approval), then answers it as it stands. ApiError 422 names what is
    wrong with the request, and nothing is started."""
    call = await asyncio.to_thread(_checked, request)
    row, created = await asyncio.to_thread(_create, call)
    if not created and not tool_calls.same_request(row, call):
        raise ApiError(409, f"the key of tool call {row.id} was used for another request: use a new key",
                       [Problem("$.Key", "already used, for another connector, method or arguments")])
    approval = request.approval_timeout.total_seconds() if request.approval else None
    try:
        await temporal.start_workflow(
            ToolCallWorkflow.run, ToolCallInput(call.id, approval), id=workflow_id(request.account_id, call.id),
            task_queue=TASK_QUEUE, rpc_timeout=TEMPORAL_TIMEOUT,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,  # a repeat attaches to the running call
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # …and never runs an ended one again
            search_attributes=TypedSearchAttributes([SearchAttributePair(ACCOUNT_ID, request.account_id)]),
            static_summary=f"Tool {request.tool} for account {request.account_id}",
            static_details=f"{'Held for approval, then sends' if request.approval else 'Sends'} method "
                           f"{request.method} of account connector {request.account_connector_id}; "
                           f"the request and the outcome are in the store (tool call {call.id}).")
    except WorkflowAlreadyStartedError:
        pass  # it ended: its outcome is stored
    except BaseException:
        if created:
            await asyncio.to_thread(_discard, call.id)  # not started: nothing accepted
        raise
    if row.status == "Running" and wait > timedelta(0):
        # Still running when the wait ends, or Temporal unreachable meanwhile: answered as it stands.
        with suppress(TimeoutError, WorkflowFailureError, RPCError):
            await asyncio.wait_for(temporal.get_workflow_handle(workflow_id(request.account_id, call.id)).result(),
                                   wait.total_seconds())
    return await get_call(request.account_id, call.id)


async def get_call(account_id: str, call_id: str) -> ToolCallView:
    def load() -> ToolCallView:
        with session() as db:
            return view(_owned(db, account_id, call_id))

    return await asyncio.to_thread(load)


def list_calls(account_id: str, statuses: list[str], page: int, per_page: int) -> ToolCallPage:
    """The account's calls, newest first, a page at a time."""
    with session() as db:
        query = tool_calls.listing(account_id, statuses)
        total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = db.execute(query.offset((page - 1) * per_page).limit(per_page)).scalars()
        return ToolCallPage(Items=[view(row) for row in rows], Total=total, Pages=math.ceil(total / per_page))


async def decide(account_id: str, call_id: str, approve: bool, by: str, *, temporal: Client) -> ToolCallView:
    """Approve or reject a call awaiting approval (409 naming its status otherwise); answered once
    the decision is recorded."""
    current = await get_call(account_id, call_id)
    if current.Status != "AwaitingApproval":
        raise _not_awaiting(current)
    handle = temporal.get_workflow_handle(workflow_id(account_id, call_id))
    try:
        await handle.execute_update(ToolCallWorkflow.decide, ToolCallDecision(approve, by), rpc_timeout=TEMPORAL_TIMEOUT)
    except WorkflowUpdateFailedError:  # decided or expired meanwhile
        raise _not_awaiting(await get_call(account_id, call_id)) from None
    return await get_call(account_id, call_id)


def _not_awaiting(call: ToolCallView) -> ApiError:
    if call.Status == "AwaitingApproval":  # its wait ended a moment ago; the outcome is being recorded
        return ApiError(409, f"tool call {call.Id} is no longer awaiting approval: it was decided or expired just now")
    return ApiError(409, f"tool call {call.Id} is {call.Status}: only a call AwaitingApproval can be approved or "
                         "rejected")


def view(row: ToolCall) -> ToolCallView:
    base = f"/v1.0/account/tool-calls/{row.id}"
    awaiting = row.status == "AwaitingApproval"
    return ToolCallView(
        Id=row.id, Tool=row.tool, Connector=row.account_connector_id, Method=row.method, Status=row.status,
        Request=shown_json(tool_calls.arguments(row), (), row.masked), Result=tool_calls.result(row),
        ResultTruncated=row.result_truncated, Error=row.error, CreatedAt=row.created_at, ExpiresAt=row.expires_at,
        DecidedAt=row.decided_at, DecidedBy=row.decided_by,
        Links=ToolCallLinks(Self=base, Approve=f"{base}/approve" if awaiting else None,
                            Reject=f"{base}/reject" if awaiting else None))


def _owned(db, account_id: str, call_id: str) -> ToolCall:
    row = db.get(ToolCall, call_id)
    if row is None or row.account_id != account_id:
        raise not_found("tool call", call_id)
    return row


def _checked(request: WriteRequest) -> tool_calls.NewCall:
    """The call to create, once the request passed every check (ApiError 422 naming each problem)."""
    problems = []
    if not request.call_key or len(request.call_key) > KEY_LIMIT:
        problems.append(Problem("$.Key", f"a key of 1 to {KEY_LIMIT} characters is required"))
    if len(request.tool) > TOOL_LIMIT or not request.tool.isprintable():
        problems.append(Problem("$.Tool", f"at most {TOOL_LIMIT} printable characters"))
    if request.approval and not timedelta(0) < request.approval_timeout <= LONGEST_APPROVAL:
        problems.append(Problem("$.ApprovalTimeout", f"must be more than 0 and at most {LONGEST_APPROVAL.days} days"))
    try:
        arguments = Arguments.model_validate(request.arguments)
    except ValidationError as err:
        problems += [Problem(json_path(("Arguments", *e["loc"])), e["msg"]) for e in err.errors()]
    if problems:
        raise ApiError(422, "The tool call is invalid; nothing was started.", problems)
    with session() as db:
        try:
            installed, connector, credentials = load_callable(db, request.account_id, request.account_connector_id)
        except LookupError:
            raise _invalid("$.Connector", f"the account has no connector '{request.account_connector_id}'") from None
    method = _write_method(connector, request.method)
    try:
        check_input(connector, method.UniqueIdentifier, credentials, parameters=arguments.Parameters,
                    fields=arguments.Fields, mergefields=OUTSIDE_A_RUN)
    except InvalidInput as err:
        raise ApiError(422, "The tool call's arguments are invalid; nothing was started.",
                       [Problem(f"$.Arguments{path.removeprefix('$')}", message) for path, message in err.problems]
                       ) from None
    except UnknownParameter as err:
        raise _invalid("$.Arguments.Parameters", err.reason) from None
    except ConnectorError as err:
        raise _invalid("$.Method", err.brief()) from None
    sensitive = [name for p in call_parameters(connector, method) if p.IsSensitive for name in (p.key, p.TargetName)
                 if name]
    approval = request.approval
    return tool_calls.NewCall(
        id=tool_calls.call_id(request.account_id, request.call_key), account_id=request.account_id,
        account_connector_id=installed.id, method=method.UniqueIdentifier, tool=request.tool or method.Name,
        arguments=arguments.model_dump(), masked=sensitive, approval=approval,
        expires_at=utcnow() + request.approval_timeout if approval else None)


def _write_method(connector: Connector, name: str) -> Method:
    method = next((m for m in connector.Methods if m.UniqueIdentifier == name), None)
    if method is None:
        raise _invalid("$.Method", f"connector '{connector.Name}' has no method '{name}'")
    if method.MethodType != "Action":
        raise _invalid("$.Method", f"method '{name}' of '{connector.Name}' is a {method.MethodType}, not a write")
    if method.HttpMethod in READS:
        raise _invalid("$.Method", f"method '{name}' of '{connector.Name}' reads ({method.HttpMethod.upper()}): "
                                   "call it through data on demand, not as a write")
    return method


def _invalid(path: str, message: str) -> ApiError:
    return ApiError(422, "The tool call is invalid; nothing was started.", [Problem(path, message)])


def _create(call: tool_calls.NewCall) -> tuple[ToolCall, bool]:
    with session() as db:
        return tool_calls.create(db, call)


def _discard(call_id: str) -> None:
    with session() as db:
        tool_calls.discard(db, call_id)


def statuses_of(text: str | None) -> list[str]:
    """`status=a,b` as a list of statuses (ApiError 422 naming an unknown one)."""
    wanted = [s for s in (text or "").split(",") if s]
    if unknown := [s for s in wanted if s not in STATUSES]:
        raise ApiError(422, "The request is invalid.",
                       [Problem("query:status", f"unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}")])
    return wanted
