"""The MCP server at /mcp (official `mcp` SDK, streamable HTTP, stateless, JSON answers).

Only an account's token opens it (an agent token, scope `agent:<id>`, which opens nothing else;
or an account token), and only on that account's tools and resources: a partner token is
refused (an MCP session is one account's). A request without a valid token is
answered 401 with `WWW-Authenticate: Bearer resource_metadata=…` (api/agents/discovery.py);
when it names its account in X-Account-Id the challenge also names the scope to ask for,
`agent:<id>`, so a standard MCP client gets its token by client credentials unaided.

Requests reach /mcp through admission like any route (api/admission.py: the agents lane, each
account in turn); tool calls are rate limited per account, across API processes
(CYCLEWRIGHT_MCP_CALLS_PER_MINUTE, the shared limiter store/limiter.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from api.agents import resources, template_tools
from api.agents.discovery import resource_metadata_url
from api.agents.tools import Call, account_tools, call, failed
from api.auth import AGENT_SCOPE, bearer_token, verified_claims
from api.errors import ApiError
from connectors.spec import RateLimit
from runtime.settings import settings
from store.limiter import DatabaseLimiter

ACCOUNT = "cyclewright.account"  # the scope key the endpoint leaves the token's account under
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for a resource that does not exist
INSTRUCTIONS = ("The tools call this account's connected apps, as its integration partner exposed them. "
                "Reads answer one page: pass NextCursor back as _cursor for the next. Writes run once per key "
                "(_key, else the request's id) and may wait for a person's approval: the answer says how to poll "
                "(read the resource cyclewright://tool-calls/{id}).")
limiter = DatabaseLimiter()
Context = ServerRequestContext[Any, Any]  # its `request`: the HTTP request, a Starlette Request


def _account(ctx: Context) -> str:
    return ctx.request.scope[ACCOUNT]


async def _tools(account: str) -> dict[str, template_tools.AnyTool]:
    """The account's tools: its connectors' exposed methods, then its agent-callable cycles."""
    tools: dict[str, template_tools.AnyTool] = dict(await account_tools(account))
    return tools | await asyncio.to_thread(template_tools.catalogue, account, set(tools))


async def _list_tools(ctx: Context, _: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[tool.definition for tool in (await _tools(_account(ctx))).values()])


async def _call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
    account = _account(ctx)
    tool = (await _tools(account)).get(params.name)
    if tool is None:
        raise MCPError(INVALID_PARAMS, f"this account has no tool '{params.name}' (tools/list lists its tools)")
    per_minute = settings().mcp_calls_per_minute
    wait = await limiter.reserve([(f"mcp:{account}", RateLimit(MaxRequests=per_minute, TimeFrame="Minutes"))])
    if wait > 0:
        return failed(f"Rate limited: this account makes at most {per_minute} tool calls a minute; "
                      f"try again in {wait:.0f} s. Nothing was done.")
    if isinstance(tool, template_tools.TemplateTool):
        return await template_tools.call(tool, params.arguments or {}, ctx.request)
    return await call(tool, params.arguments or {}, Call(account, ctx.request, ctx.request_id))


async def _list_resources(ctx: Context, _: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=await resources.listed(_account(ctx)))


async def _list_resource_templates(ctx: Context, _: types.PaginatedRequestParams | None
                                   ) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=resources.TEMPLATES)


async def _read_resource(ctx: Context, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    result = await resources.read(_account(ctx), str(params.uri))
    if result is None:
        raise MCPError(RESOURCE_NOT_FOUND, f"resource '{params.uri}' was not found", {"uri": str(params.uri)})
    return result


def mcp_server() -> Server:
    return Server("cyclewright", version="0.1.0", instructions=INSTRUCTIONS, on_list_tools=_list_tools,
                  on_call_tool=_call_tool, on_list_resources=_list_resources,
                  on_list_resource_templates=_list_resource_templates, on_read_resource=_read_resource)


def _challenge(headers: Headers, error: str | None = None) -> str:
    """The WWW-Authenticate of a refusal: where the resource metadata is, and the scope to ask
    for when the request names its account."""
    parts = [f'resource_metadata="{resource_metadata_url()}"']
    account = headers.get("x-account-id") or headers.get("x-cyclr-account")
    if account and '"' not in account and "\\" not in account:
        parts.append(f'scope="{AGENT_SCOPE}{account}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ", ".join(parts)


async def _refuse(send: Send, status: int, message: str, challenge: str) -> None:
    body = json.dumps({"Message": message, "Errors": []}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge.encode("latin-1"))]})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    """ASGI app of /mcp: the bearer token checked, then the SDK's stateless transport."""

    def __init__(self) -> None:
        self.manager = StreamableHTTPSessionManager(app=mcp_server(), stateless=True, json_response=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        try:
            claims = verified_claims(bearer_token(headers.get("authorization")))
        except ApiError as err:
            return await _refuse(send, 401, err.message, _challenge(headers))
        if not claims.get("account"):
            return await _refuse(send, 403, "an MCP session is one account's: use a token with scope "
                                 f"'{AGENT_SCOPE}<account id>' (POST /oauth/token), not a partner token",
                                 _challenge(headers, "insufficient_scope"))
        scope[ACCOUNT] = claims["account"]
        await self.manager.handle_request(scope, receive, send)
