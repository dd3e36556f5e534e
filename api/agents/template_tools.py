"""An account's template tools: each Active cycle of a template the partner marked agent-callable
whose trigger is a Webhook step (store/agent_templates.py). A call is one event of that cycle,
queued as webhook events are (store/inbound.py accept, then the inbox's wake-up of the cycle,
api/inbox.py), so the cycle's own runs make it transactions, exactly once; the call waits
(bounded) for them to end and answers each one's status, step and message."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import orjson

from api.agents.schemas import tool_name
from api.agents.tools import Tool, failed
from api.inbox import inbox
from api.limits import DEFAULT_LIMIT
from connectors import nesting
from runtime.metrics import WEBHOOK_EVENTS
from runtime.settings import settings
from store import agent_templates, inbound
from store.database import engine, session

# A call waits CYCLEWRIGHT_MCP_RUN_WAIT_SECONDS (30) for its transactions to end, then answers
# Running and how to poll; meanwhile it looks at them after FIRST_LOOK seconds, then less often.
FIRST_LOOK, LAST_LOOK = 0.1, 1.0
MAX_TRANSACTIONS = 100  # an answer lists at most this many of the event's transactions
STATUSES = ["Queued", "Running", "Completed"]
_TRANSACTION = {"type": "object", "properties": {
    "Id": {"type": "string"}, "Status": {"enum": ["Pending", "Success", "Errored", "Stopped"]},
    "Step": {"type": "string", "description": "the template step where it waits or ended"},
    "Message": {"type": ["string", "null"], "description": "why it errored or stopped"}},
    "required": ["Id", "Status", "Step", "Message"]}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "EventId": {"type": "integer", "description": "the event this call queued"},
        "Status": {"enum": STATUSES, "description": "Queued: no run has taken the event yet; Running: some of its "
                                                    "transactions are under way; Completed: all have ended"},
        "Transactions": {"type": "array", "items": _TRANSACTION},
        "TotalTransactions": {"type": "integer"},
        "Truncated": {"type": "boolean", "description": f"more than {MAX_TRANSACTIONS} transactions: the first shown"},
        "Poll": {"type": "string", "description": "the resource to read for this call's outcome later"},
    },
    "required": ["EventId", "Status", "Transactions", "TotalTransactions", "Truncated", "Poll"],
}


@dataclass(frozen=True)
class TemplateTool:
    """One of an account's template tools: the cycle it runs, and how an agent sees it."""

    definition: types.Tool
    cycle_id: str
    step_id: str  # the cycle's Webhook step


AnyTool = Tool | TemplateTool  # one of an account's tools: a connector method's, or a template's


def _input_schema(fields: list[str] | None) -> dict[str, Any]:
    if fields is None:
        return {"type": "object", "description": "the event, as the cycle's webhook takes it"}
    return {"type": "object", "description": "the event, as the cycle's webhook takes it; the fields the "
                                             "integration reads are listed, any others are kept",
            "properties": {field: {"description": f"read by the integration as the event's '{field}'"}
                           for field in fields}}


def catalogue(account_id: str, taken: set[str]) -> dict[str, TemplateTool]:
    """The account's template tools by name, none named as one in `taken` (blocks: a thread's)."""
    with session() as db:
        cycles = agent_templates.callable_cycles(db, account_id)
    tools: dict[str, TemplateTool] = {}
    for item in cycles:
        name = tool_name(item.template.name, "", taken | set(tools), item.cycle.id)
        described = (item.template.document.get("Description") or item.template.name).rstrip(". ")
        description = (f"{described}. Runs the integration "
                       f"'{item.cycle.name}' once on the arguments (one event) and answers each of the transactions "
                       f"made from it: its status, step and message.")
        tools[name] = TemplateTool(types.Tool(
            name=name, title=item.template.name, description=description, input_schema=_input_schema(item.fields),
            output_schema=OUTPUT_SCHEMA,
            annotations=types.ToolAnnotations(read_only_hint=False, idempotent_hint=False)),
            item.cycle.id, item.trigger.id)
    return tools


def poll_uri(cycle_id: str, event_id: int) -> str:
    return f"cyclewright://cycles/{cycle_id}/events/{event_id}"


def _event_text(arguments: dict[str, Any]) -> str:
    """The arguments as an event's JSON text, as a sender would post it (UTF-8, not escaped, so
    it is the size it would be); escaped where it holds a lone surrogate (valid JSON text, which
    UTF-8 cannot hold; orjson refuses it)."""
    text = json.dumps(arguments, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(arguments)
    return text


def _queue(event: inbound.Event) -> tuple[inbound.Admission, int | None]:
    with engine().connect() as connection:
        return inbound.accept_one(connection, event)


def answer(cycle_id: str, event_id: int) -> dict[str, Any]:
    """What became of the event, as a call answers it and its resource shows it (blocks)."""
    with session() as db:
        outcome = agent_templates.outcome(db, cycle_id, event_id, MAX_TRANSACTIONS)
    status = "Queued" if outcome.queued else "Completed" if outcome.ended else "Running"
    return {"EventId": event_id, "Status": status, "Transactions": outcome.transactions,
            "TotalTransactions": outcome.total, "Truncated": outcome.total > len(outcome.transactions),
            "Poll": poll_uri(cycle_id, event_id)}


def _result(structured: dict[str, Any], note: str, error: bool = False) -> types.CallToolResult:
    text = note + "\n" + orjson.dumps(structured).decode()
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=structured,
                                is_error=error)


async def call(tool: TemplateTool, arguments: dict[str, Any], request: Any) -> types.CallToolResult:
    """Queue the arguments as one event of the cycle, wake it, and wait (CYCLEWRIGHT_MCP_RUN_WAIT_SECONDS
    at most) for the transactions made from the event to end."""
    body = _event_text(arguments)
    if len(body.encode()) > DEFAULT_LIMIT:
        return failed(f"The arguments are larger than a webhook event may be ({DEFAULT_LIMIT // 1024} KiB). "
                      "Nothing was queued.")
    try:
        nesting.check_text(body, "the arguments")
    except nesting.TooDeep as err:
        return failed(f"{err}. Nothing was queued.")
    admission, event_id = await asyncio.to_thread(_queue, inbound.Event(tool.cycle_id, tool.step_id, body))
    if admission != "queued" or event_id is None:
        return failed(f"The integration '{tool.definition.title}' is not active: it takes no events now. "
                      "Nothing was queued.")
    WEBHOOK_EVENTS.inc()
    (await inbox(request)).wake(tool.cycle_id)
    wait = settings().mcp_run_wait
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + wait, FIRST_LOOK
    while True:
        structured = await asyncio.to_thread(answer, tool.cycle_id, event_id)
        if structured["Status"] == "Completed" or loop.time() >= deadline:
            break
        await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
        pause = min(pause * 1.5, LAST_LOOK)
    if structured["Status"] != "Completed":
        return _result(structured, f"{structured['Status']}: the event {event_id} is queued and its transactions "
                                   f"have not all ended after {wait:g} s. Poll: read the resource "
                                   f"{structured['Poll']}.")
    errored = sum(t["Status"] == "Errored" for t in structured["Transactions"])
    note = (f"Completed: the event {event_id} made {structured['TotalTransactions']} transaction(s)"
            + (f", {errored} of them Errored." if errored else ", none Errored."))
    return _result(structured, note, error=errored > 0)
