"""An account's installed integrations (its cycles) and their recent runs, as MCP resources:
`cyclewright://cycles/{id}` and `cyclewright://cycles/{id}/runs`, JSON; and its tool calls,
`cyclewright://tool-calls/{id}` (a resource template: where an agent polls a write); and what
became of an event a template tool queued, `cyclewright://cycles/{id}/events/{event}` (where
it polls such a call). Another account's do not exist for it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import mcp_types as types
import orjson
from sqlmodel import col, select

from api.agents.template_tools import answer
from api.errors import ApiError
from api.tool_calls import get_call
from store.database import session
from store.tables import Cycle, Run

RECENT_RUNS = 20
JSON = "application/json"
_URI = re.compile(r"cyclewright://cycles/(?P<cycle>[^/]+)(?P<runs>/runs)?")
_TOOL_CALL = re.compile(r"cyclewright://tool-calls/(?P<call>[^/]+)")
_EVENT = re.compile(r"cyclewright://cycles/(?P<cycle>[^/]+)/events/(?P<event>[0-9]{1,18})")
TEMPLATES = [
    types.ResourceTemplate(
        uri_template="cyclewright://tool-calls/{id}", name="tool call", mime_type=JSON,
        description="A write tool's call: its status (AwaitingApproval, Running, Completed, …), request and result"),
    types.ResourceTemplate(
        uri_template="cyclewright://cycles/{id}/events/{event}", name="template tool call", mime_type=JSON,
        description="An event a template tool queued: its status (Queued, Running, Completed) and its "
                    "transactions' status, step and message"),
]


def _cycles(account_id: str) -> list[Cycle]:
    with session() as db:
        return list(db.exec(select(Cycle).where(Cycle.account_id == account_id)
                            .order_by(Cycle.created_at, Cycle.id)).all())


async def listed(account_id: str) -> list[types.Resource]:
    resources = []
    for cycle in await asyncio.to_thread(_cycles, account_id):
        uri = f"cyclewright://cycles/{cycle.id}"
        resources += [
            types.Resource(uri=uri, name=cycle.name, mime_type=JSON,
                           description=f"The integration '{cycle.name}': its status and schedule"),
            types.Resource(uri=f"{uri}/runs", name=f"{cycle.name}: recent runs", mime_type=JSON,
                           description=f"The last {RECENT_RUNS} runs of '{cycle.name}', newest first"),
        ]
    return resources


def _cycle(cycle: Cycle) -> dict[str, Any]:
    return {"Id": cycle.id, "Name": cycle.name, "Status": cycle.status, "StatusReason": cycle.status_reason,
            "TemplateId": cycle.template_id, "TemplateVersion": cycle.template_version,
            "StartTime": cycle.start_time, "IntervalMinutes": cycle.interval_minutes, "RunOnce": cycle.run_once,
            "CreatedAt": cycle.created_at}


def _run(run: Run) -> dict[str, Any]:
    return {"Id": run.id, "Number": run.number, "Status": run.status, "StartedAt": run.started_at,
            "FinishedAt": run.finished_at, "Succeeded": run.succeeded, "Errored": run.errored,
            "Stopped": run.stopped, "Message": run.message, "Warnings": run.warnings}


def _owned(account_id: str, cycle_id: str) -> bool:
    with session() as db:
        cycle = db.get(Cycle, cycle_id)
        return cycle is not None and cycle.account_id == account_id


def _event(account_id: str, cycle_id: str, event_id: int) -> Any:
    return answer(cycle_id, event_id) if _owned(account_id, cycle_id) else None


def _read(account_id: str, cycle_id: str, runs: bool) -> Any:
    with session() as db:
        cycle = db.get(Cycle, cycle_id)
        if cycle is None or cycle.account_id != account_id:
            return None
        if not runs:
            return _cycle(cycle)
        return [_run(r) for r in db.exec(select(Run).where(Run.cycle_id == cycle_id)
                                         .order_by(col(Run.number).desc()).limit(RECENT_RUNS)).all()]


async def read(account_id: str, uri: str) -> types.ReadResourceResult | None:
    """The resource's contents; None for a URI that names none of the account's."""
    if call := _TOOL_CALL.fullmatch(uri):
        try:
            text = (await get_call(account_id, call["call"])).model_dump_json()
        except ApiError:  # not this account's
            return None
    else:
        if event := _EVENT.fullmatch(uri):
            content = await asyncio.to_thread(_event, account_id, event["cycle"], int(event["event"]))
        elif match := _URI.fullmatch(uri):
            content = await asyncio.to_thread(_read, account_id, match["cycle"], bool(match["runs"]))
        else:
            return None
        if content is None:
            return None
        text = orjson.dumps(content).decode()
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=JSON, text=text)])
