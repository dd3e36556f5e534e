"""Acceptance (issue 19, point 1): the MCP Inspector in CLI mode, from npm (package.json), lists an
account's tools over streamable HTTP with the account token as bearer, and calls a read tool."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from jsonschema import Draft202012Validator

from tests.e2e.test_mcp import agent_token, connected_account

REPOSITORY = Path(__file__).resolve().parents[2]


async def inspector(url: str, token: str, *arguments: str) -> dict:
    process = await asyncio.create_subprocess_exec(
        shutil.which("npx"), "--no-install", "@modelcontextprotocol/inspector", "--cli", url, "--transport", "http",
        "--header", f"Authorization: Bearer {token}", *arguments,
        cwd=REPOSITORY, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 180)  # guards a hung test only
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_the_inspector_cli_lists_the_tools_and_calls_a_read(api, api_url, demo):
    cycle = await connected_account(api, demo, contacts=2)
    token = await agent_token(api, cycle.account_id)
    listed = await inspector(f"{api_url}/mcp", token, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == {"demo_crm_list_contacts", "demo_leads_create_lead", "demo_leads_list_lead_sources"}
    for tool in tools.values():
        Draft202012Validator.check_schema(tool["inputSchema"])
        Draft202012Validator.check_schema(tool["outputSchema"])

    called = await inspector(f"{api_url}/mcp", token, "--method", "tools/call", "--tool-name", "demo_crm_list_contacts")
    assert not called.get("isError"), called
    assert [r["Email"] for r in called["structuredContent"]["Records"]] == ["contact1@example.com",
                                                                           "contact2@example.com"]
