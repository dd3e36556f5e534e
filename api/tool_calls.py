"""Agents' writes: a Temporal workflow per tool call (workflows/tool_call.py), idempotent by the
call's key, optionally held for a person's approval. The MCP server's write tools and the REST
routes (api/routers/tool_calls.py) both submit through `submit_write`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.client import Client

ToolCallStatus = Literal["AwaitingApproval", "Running", "Completed", "Failed", "Rejected", "Expired"]


@dataclass(frozen=True)
class WriteRequest:
    account_id: str
    account_connector_id: str  # the account's connector the method belongs to
    method: str  # the connector method's name (its UniqueIdentifier)
    arguments: dict[str, Any] = field(default_factory=dict)  # the tool's input (parameters and request fields)
    call_key: str = ""  # the idempotency key: the MCP request id or a client-supplied key
    tool: str = ""  # the tool's name, for listings and the Web UI summary
    approval: bool = False  # hold for a person's approval before anything is sent
    approval_timeout: timedelta = timedelta(hours=24)


class ToolCallLinks(BaseModel):
    Self: str = Field(description="GET it to poll the call")
    Approve: str | None = Field(default=None, description="POST to approve (while AwaitingApproval)")
    Reject: str | None = Field(default=None, description="POST to reject (while AwaitingApproval)")


class ToolCallView(BaseModel):
    """A tool call as the API and the MCP server show it: request and result masked, bounded."""

    Id: str
    Tool: str
    Connector: str = Field(description="the account connector's id")
    Method: str
    Status: ToolCallStatus
    Request: dict[str, Any] = Field(description="the call's arguments, secrets masked")
    Result: Any | None = Field(default=None, description="the method's records, secrets masked, bounded")
    ResultTruncated: bool = False
    Error: str | None = Field(default=None, description="why it failed, naming the party at fault")
    CreatedAt: datetime
    DecidedAt: datetime | None = None
    DecidedBy: str | None = None
    Links: ToolCallLinks


async def submit_write(request: WriteRequest, wait: timedelta = timedelta(seconds=30), *,
                       temporal: Client) -> ToolCallView:
    """The call `request` names, started once per (account, call_key): a repeat returns the same
    call. Waits up to `wait` for it to end (not while it awaits approval), then answers as it stands."""
    raise NotImplementedError
