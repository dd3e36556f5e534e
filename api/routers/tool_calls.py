"""Agents' writes over REST, as the MCP server's write tools make them (api/tool_calls.py):
submit one, list and read them, approve or reject one held for approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api import tool_calls
from api.auth import Claims
from api.dependencies import CurrentAccount, Temporal
from api.errors import COMMON, responses
from api.tool_calls import LONGEST_APPROVAL, ToolCallPage, ToolCallView, WriteRequest

router = APIRouter(prefix="/v1.0/account/tool-calls", tags=["tool calls"], responses=responses(*COMMON))


class ToolCallIn(BaseModel):
    Connector: str = Field(description="the account connector's id")
    Method: str = Field(description="the method's UniqueIdentifier: a write (not a GET)")
    Arguments: dict[str, Any] = Field(default={}, description='{"Parameters": {...}, "Fields": {...}}, as data on '
                                                             "demand takes them")
    Key: str = Field(description="the idempotency key: the same key again answers the same call, sent once")
    Tool: str = Field(default="", description="a name for listings and the Web UI; the method's name when empty")
    Approval: bool = Field(default=False, description="hold it until a person approves it")
    ApprovalTimeoutSeconds: float = Field(default=86_400, gt=0, le=LONGEST_APPROVAL.total_seconds(),
                                          description="an unanswered approval expires then (at most 30 days)")
    WaitSeconds: float = Field(default=5, ge=0, le=30, description="how long to wait for it to end before answering "
                                                                  "(the wait holds a place of the API's Temporal lane: "
                                                                  "poll rather than wait long)")


def _decided_by(claims: dict) -> str:
    return f"{'account' if claims.get('account') else 'partner'} token of {claims.get('sub', 'unknown client')}"


def _answered(call: ToolCallView, response: Response) -> ToolCallView:
    """200 once it ended; 202 while it runs or awaits approval, with where to poll it."""
    if call.Status in ("AwaitingApproval", "Running"):
        response.status_code = 202
        response.headers["Location"] = call.Links.Self
    return call


@router.post("", summary="Submit an agent's write: sent once per key, optionally after approval",
             responses={**responses(409, 503), 202: {"model": ToolCallView, "description": "It runs, or awaits "
                                                     "approval: poll Location"}})
async def submit(body: ToolCallIn, account: CurrentAccount, client: Temporal, response: Response) -> ToolCallView:
    """Runs the method as a Temporal workflow of its own, with the call's id as its idempotency
    key; answers once it ended (200) or after WaitSeconds, or at once when it awaits approval
    (202: poll `Location`). The same Key again answers the same call; a Key used for another
    request is 409."""
    request = WriteRequest(account.id, body.Connector, body.Method, body.Arguments, body.Key, body.Tool,
                           body.Approval, timedelta(seconds=body.ApprovalTimeoutSeconds))
    call = await tool_calls.submit_write(request, timedelta(seconds=body.WaitSeconds), temporal=client)
    return _answered(call, response)


@router.get("", summary="The account's tool calls, newest first, with their request and outcome (masked)")
async def list_tool_calls(
    account: CurrentAccount,
    status: Annotated[str | None, Query(description="one status or several, comma-separated")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ToolCallPage:
    return await run_in_threadpool(tool_calls.list_calls, account.id, tool_calls.statuses_of(status), page, per_page)


@router.get("/{id}", summary="A tool call: its status, request and outcome (masked)")
async def get_tool_call(id: str, account: CurrentAccount) -> ToolCallView:
    return await tool_calls.get_call(account.id, id)


@router.post("/{id}/approve", summary="Approve a tool call awaiting approval: it is sent",
             responses=responses(409, 503))
async def approve(id: str, account: CurrentAccount, claims: Claims, client: Temporal) -> ToolCallView:
    return await tool_calls.decide(account.id, id, True, _decided_by(claims), temporal=client)


@router.post("/{id}/reject", summary="Reject a tool call awaiting approval: nothing is sent",
             responses=responses(409, 503))
async def reject(id: str, account: CurrentAccount, claims: Claims, client: Temporal) -> ToolCallView:
    return await tool_calls.decide(account.id, id, False, _decided_by(claims), temporal=client)
