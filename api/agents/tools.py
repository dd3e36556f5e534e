"""An account's tools: each method its partner exposed (store/agent_tools.py) of each connector
it has connected. Reads go through data on demand (api/routers/connector_calls.py: the same
credentials, egress policy, rate limits, scripts and masking) and answer one page, bounded;
writes are tool calls (api/tool_calls.py): a Temporal workflow each, idempotent on its key,
perhaps held for approval."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import mcp_types as types
import orjson
from jsonschema import Draft202012Validator
from starlette.requests import Request

from api.agents.schemas import (
    CURSOR_ARGUMENT,
    KEY_ARGUMENT,
    Arguments,
    input_schema,
    read_output_schema,
    tool_name,
    write_output_schema,
)
from api.dependencies import get_temporal
from api.errors import ApiError
from api.routers.connector_calls import load_caller
from api.tool_calls import ToolCallView, WriteRequest, submit_write
from store import agent_tools
from store.agent_tools import READS, Exposed
from store.database import session

MAX_RECORDS = 100  # a read answers at most this many records of its page…
MAX_BYTES = 64_000  # …and at most this much JSON of them: an agent's context is small
# A write waits this long for its end, holding its place in the agents lane; then it answers
# Running, and the agent polls its resource (no wait while it awaits approval).
WRITE_WAIT = timedelta(seconds=5)


@dataclass(frozen=True)
class Tool:
    """One of an account's tools: what it calls, and how an agent sees it."""

    definition: types.Tool
    account_connector_id: str
    exposed: Exposed
    arguments: Arguments
    write: bool


@dataclass(frozen=True)
class Call:
    """A tool call as the MCP server received it: whose, its HTTP request, its JSON-RPC id."""

    account_id: str
    request: Request
    request_id: str | int | None


def _catalogue(installed: list[agent_tools.Installed]) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for item in installed:
        methods = {m.UniqueIdentifier: m for m in item.connector.Methods}
        for exposed in item.exposed:
            method = methods.get(exposed.method)
            if method is None or method.MethodType == "Webhook":  # not in the release it is on
                continue
            write = method.HttpMethod not in READS
            name = tool_name(item.connector.Name, method.UniqueIdentifier, set(tools),
                             f"{item.row.id}/{method.UniqueIdentifier}")
            arguments = input_schema(item.connector, method, write)
            approval = " A call waits for a person's approval before anything is sent." if exposed.approval else ""
            description = (f"{method.Description or method.Name} ({item.connector.Name}, "
                           f"'{item.row.name}': {'a write' if write else 'a read'}).{approval}")
            tools[name] = Tool(
                types.Tool(name=name, title=f"{item.connector.Name}: {method.Name}", description=description,
                           input_schema=arguments.schema,
                           output_schema=write_output_schema(method) if write else read_output_schema(method),
                           annotations=types.ToolAnnotations(  # a write is idempotent by its key
                               read_only_hint=not write, destructive_hint=method.HttpMethod == "Delete",
                               idempotent_hint=True)),
                item.row.id, exposed, arguments, write)
    return tools


async def account_tools(account_id: str) -> dict[str, Tool]:
    """The account's tools by name, from what is in the database now (in one trip to a thread)."""
    def load() -> dict[str, Tool]:
        with session() as db:
            return _catalogue(agent_tools.installed(db, account_id))

    return await asyncio.to_thread(load)


def failed(message: str, problems: list[tuple[str, str]] = ()) -> types.CallToolResult:
    """A tool's error, for the agent to read: what is wrong and where."""
    text = message + "".join(f"\n- {path}: {problem}" for path, problem in problems)
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _answer(structured: dict[str, Any], *, note: str = "", error: bool = False) -> types.CallToolResult:
    text = (note + "\n" if note else "") + orjson.dumps(structured).decode()
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=structured,
                                is_error=error)


def invalid_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the arguments break the input schema, and how, never quoting a value (it may be
    a record's or a secret)."""
    problems = []
    for error in Draft202012Validator(schema).iter_errors(arguments):
        path = "arguments" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
        if error.validator in ("required", "additionalProperties"):
            message = error.message  # names the argument, not a value
        elif error.validator == "enum":
            message = f"must be one of {error.validator_value}"
        else:
            message = f"must satisfy {error.validator}: {error.validator_value}"
        problems.append((path, message))
    return problems


async def call(tool: Tool, arguments: dict[str, Any], context: Call) -> types.CallToolResult:
    """Call the tool; bad input and every failure answer an error result naming its cause."""
    if problems := invalid_arguments(tool.definition.input_schema, arguments):
        return failed(f"The arguments of '{tool.definition.name}' are invalid.", problems)
    try:
        return await (_write if tool.write else _read)(tool, dict(arguments), context)
    except ApiError as err:
        return failed(err.message, [(p.path, p.message) for p in err.problems])


def bounded(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first records of `records`, MAX_RECORDS and MAX_BYTES of JSON at most."""
    kept, size = [], 0
    for record in records[:MAX_RECORDS]:
        size += len(orjson.dumps(record)) + 1
        if size > MAX_BYTES:
            break
        kept.append(record)
    return kept


async def _read(tool: Tool, arguments: dict[str, Any], context: Call) -> types.CallToolResult:
    cursor = arguments.pop(CURSOR_ARGUMENT, None)
    sent = tool.arguments.split(arguments)
    caller = await load_caller({"account": context.account_id}, None, tool.account_connector_id)
    pages = await caller.fetch(context.request, tool.exposed.method, cursor=cursor, max_pages=1,
                               parameters=sent["Parameters"], fields=sent["Fields"])
    records = bounded(pages.records)
    warnings = list(pages.warnings)
    if cut := len(records) < len(pages.records):
        warnings.append(f"cut: {len(records)} of the page's {len(pages.records)} records are shown (at most "
                        f"{MAX_RECORDS} records and {MAX_BYTES // 1000} kB of them)")
    structured = {"Records": records, "Truncated": cut, "NextCursor": pages.cursor, "Warnings": warnings}
    return _answer(structured, note=warnings[-1] if cut else "")


def call_key(tool: Tool, arguments: dict[str, Any], request_id: str | int | None) -> str:
    """The client's `_key`; else the MCP request's id with the tool and its arguments (one id
    reused by another session for another call is another key)."""
    if key := arguments.pop(KEY_ARGUMENT, None):
        return f"key:{key}"
    # json, not orjson: an argument may hold a lone surrogate (valid JSON text), which orjson refuses
    digest = hashlib.sha256(json.dumps([tool.definition.name, arguments], sort_keys=True).encode()).hexdigest()
    return f"request:{request_id}:{digest[:32]}"


async def _write(tool: Tool, arguments: dict[str, Any], context: Call) -> types.CallToolResult:
    key = call_key(tool, arguments, context.request_id)
    temporal = await get_temporal(context.request)
    view = await submit_write(WriteRequest(
        account_id=context.account_id, account_connector_id=tool.account_connector_id, method=tool.exposed.method,
        arguments=tool.arguments.split(arguments), call_key=key, tool=tool.definition.name,
        approval=tool.exposed.approval, approval_timeout=tool.exposed.approval_timeout), WRITE_WAIT, temporal=temporal)
    return _write_answer(view)


def _write_answer(view: ToolCallView) -> types.CallToolResult:
    structured = view.model_dump(mode="json", include={"Id", "Status", "Result", "ResultTruncated", "Error", "ExpiresAt", "Links"})
    links = view.Links
    poll = f"Poll: read the resource cyclewright://tool-calls/{view.Id} (or GET {links.Self})."
    if view.Status == "AwaitingApproval":
        note = (f"Pending: the call {view.Id} waits for a person's approval; nothing is sent before it. {poll} "
                f"A person approves with POST {links.Approve}, or rejects with POST {links.Reject}.")
    elif view.Status == "Running":
        note = f"Running: the call {view.Id} has not finished yet. {poll}"
    elif view.Status == "Completed":
        note = f"Completed: the call {view.Id} was sent."
    else:
        note = f"{view.Status}: the call {view.Id} {view.Error or 'did not complete'}."
    return _answer(structured, note=note, error=view.Status in ("Failed", "Rejected", "Expired"))
