"""Write tools over MCP (issue 19): a tool call each (api/tool_calls.py; its own acceptance tests
are test_tool_calls.py): the same key is one lead at the demo API; a write the partner holds for
approval answers "pending" with the way to poll and approve, and sends nothing until approved."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from api.tool_calls import workflow_id
from tests.conftest import Process
from tests.e2e.test_mcp import agent_token, connected_account, expose, mcp_session
from tests.walkthrough import eventually

LEAD = {"Email": "agent@example.com", "Source": "crm"}


async def test_a_write_tool_called_twice_with_one_key_creates_one_lead(api, api_url, demo):
    cycle = await connected_account(api, demo)
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        first = await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "agent-call-1"})
        again = await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "agent-call-1"})
        assert not first.is_error, first.content
        assert first.structured_content["Status"] == "Completed", first.structured_content
        assert again.structured_content["Id"] == first.structured_content["Id"]
        assert first.structured_content["Result"][0]["Email"] == "agent@example.com"
        stats = await cycle.demo_stats()
        assert stats["leads_created"] == 1, stats

        # Without a key: the request's id and the arguments are the key; bad input sends nothing.
        other = await client.call_tool("demo_leads_create_lead", {"Email": "b@example.com", "Source": "crm"})
        assert other.structured_content["Status"] == "Completed" and other.structured_content["Id"] != \
            first.structured_content["Id"]
        invalid = await client.call_tool("demo_leads_create_lead", {"Source": "crm"})
        assert invalid.is_error and "'Email' is a required property" in invalid.content[0].text
        assert (await cycle.demo_stats())["leads_created"] == 2

    # The call is listed with the account's tool calls, under the tool's name.
    listed = (await cycle.call("GET", "/v1.0/account/tool-calls")).json()["Items"]
    assert {c["Tool"] for c in listed} == {"demo_leads_create_lead"} and len(listed) == 2


async def test_a_held_write_answers_pending_and_sends_nothing_until_approved(api, api_url, demo):
    cycle = await connected_account(api, demo)
    await expose(api, "Demo Leads", {"Method": "create-lead", "Approval": True, "ApprovalTimeoutMinutes": 60})
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "demo_leads_create_lead")
        assert "approval" in tool.description
        pending = await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "held-1"})
    assert not pending.is_error, pending.content
    call = pending.structured_content
    assert call["Status"] == "AwaitingApproval" and call["Links"]["Approve"], call
    assert call["Links"]["Self"] in pending.content[0].text and "Pending" in pending.content[0].text
    assert f"cyclewright://tool-calls/{call['Id']}" in pending.content[0].text
    assert (await cycle.demo_stats())["leads_created"] == 0  # nothing sent

    # The agent's own token cannot approve it (it opens only /mcp); the partner's can.
    async with httpx.AsyncClient(base_url=api_url) as http:
        own = {"Authorization": f"Bearer {await agent_token(api, cycle.account_id)}"}
        refused = await http.post(call["Links"]["Approve"], headers=own)
        assert refused.status_code == 403 and "only the MCP server" in refused.json()["Message"], refused.text
    response = await cycle.call("POST", call["Links"]["Approve"])
    assert response.status_code == 200, response.text

    async def completed() -> bool:
        return (await cycle.call("GET", call["Links"]["Self"])).json()["Status"] == "Completed"

    await eventually(completed, "the approved call to complete")
    assert (await cycle.demo_stats())["leads_created"] == 1
    # The agent polls the call as a resource; another account cannot read it.
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert "cyclewright://tool-calls/{id}" in [t.uri_template for t in templates]
        polled = json.loads((await client.read_resource(f"cyclewright://tool-calls/{call['Id']}")).contents[0].text)
        assert polled["Status"] == "Completed" and polled["Result"][0]["Email"] == "agent@example.com"
    other = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    async with mcp_session(api_url, await agent_token(api, other)) as client:
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"cyclewright://tool-calls/{call['Id']}")


async def test_a_write_tool_with_the_worker_sigkilled_mid_call_still_makes_one_lead(api, api_url, demo, worker,
                                                                                    temporal):
    """Acceptance (issue 19, point 2) over MCP: the call's key holds across a worker crash."""
    cycle = await connected_account(api, demo)
    await cycle.demo("hold")
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        first = asyncio.create_task(client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "crash-1"}))
        # The premise: the leads service holds the request the worker's activity sent.
        await eventually(lambda: _held(cycle), "the write to reach the leads service")
        worker["process"].kill()  # SIGKILL: the activity never reports back
        await cycle.demo("release")  # …yet the leads service goes on to create the lead
        await eventually(lambda: _created(cycle), "the held request's lead")
        worker["process"] = Process("worker.py")
        call_id = (await first).structured_content["Id"]  # Running (the wait ran out) or Completed
        handle = temporal.client.get_workflow_handle(workflow_id(cycle.account_id, call_id))
        assert await handle.result() == "Completed"
        again = await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "crash-1"})
    assert again.structured_content["Id"] == call_id and again.structured_content["Status"] == "Completed"
    stats = await cycle.demo_stats()
    assert stats["lead_requests"] == 2, stats  # sent again after the crash…
    assert stats["leads_created"] == 1, stats  # …with the same key: still one lead


async def _held(cycle) -> bool:
    return (await cycle.demo_stats())["waiting"] == 1


async def _created(cycle) -> bool:
    return (await cycle.demo_stats())["leads_created"] == 1


async def test_a_rejected_write_sends_nothing_and_the_tool_says_so(api, api_url, demo):
    cycle = await connected_account(api, demo)
    await expose(api, "Demo Leads", {"Method": "create-lead", "Approval": True})
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        pending = (await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "no-1"})).structured_content
        response = await cycle.call("POST", pending["Links"]["Reject"])
        assert response.status_code == 200, response.text
        answer = await client.call_tool("demo_leads_create_lead", {**LEAD, "_key": "no-1"})
    assert answer.is_error and answer.structured_content["Status"] == "Rejected"
    assert answer.content[0].text.startswith(f"Rejected: the call {pending['Id']}")
    assert (await cycle.demo_stats())["lead_requests"] == 0  # nothing was ever sent
