"""Issue 19: each template the partner marks agent-callable becomes a tool that runs the cycle
once on the inputs given (one webhook event) and returns its transactions' outcomes. Another
account's cycles are never tools; an unmarked template is no tool."""

from __future__ import annotations

import json

import httpx
import pytest
from jsonschema import Draft202012Validator
from mcp.shared.exceptions import MCPError
from mcp.shared.tool_name_validation import validate_tool_name

from tests.conftest import api_process, free_port
from tests.e2e.test_mcp import mcp_session
from tests.e2e.test_webhooks import EVENTS_TEMPLATE, webhook_url
from tests.templating import install_template, transactions
from tests.walkthrough import Installed, eventually

TOOL = "webhook_events_to_leads"  # from the template's name


async def account_token(api: httpx.AsyncClient, account_id: str) -> str:
    """An account token: it opens the account's MCP server."""
    response = await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "test-client",
                                                    "client_secret": "test-secret", "scope": f"account:{account_id}"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def mark(api: httpx.AsyncClient, cycle: Installed, callable_: bool = True) -> httpx.Response:
    return await api.put(f"/v1.0/templates/{cycle.cycle['TemplateId']}/agent-tool", json={"Callable": callable_})


async def callable_cycle(api: httpx.AsyncClient, demo_url: str) -> Installed:
    cycle = await install_template(api, demo_url, EVENTS_TEMPLATE)
    response = await mark(api, cycle)
    assert response.status_code == 200 and response.json() == {"Callable": True}, response.text
    (await cycle.activate()).raise_for_status()
    return cycle


async def leads(cycle: Installed) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{cycle.demo_url}/admin/leads")).json()


async def test_a_marked_template_is_a_tool_that_runs_the_cycle_on_the_inputs(api, api_url, demo):
    cycle = await callable_cycle(api, demo.url)
    async with mcp_session(api_url, await account_token(api, cycle.account_id)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        tool = tools[TOOL]
        validate_tool_name(tool.name)
        Draft202012Validator.check_schema(tool.input_schema)
        Draft202012Validator.check_schema(tool.output_schema)
        assert tool.input_schema["type"] == "object" and set(tool.input_schema["properties"]) == {"email"}
        assert tool.description.startswith(EVENTS_TEMPLATE["Description"])

        result = await client.call_tool(TOOL, {"email": "agent@example.com", "note": "kept"})
        assert not result.is_error, result.content
        answer = result.structured_content
        Draft202012Validator(tool.output_schema).validate(answer)
        assert answer["Status"] == "Completed" and answer["TotalTransactions"] == 1, answer
        [made] = answer["Transactions"]
        assert (made["Status"], made["Step"], made["Message"]) == ("Success", "lead", None)
        # The demo API received exactly the record made from those inputs, and nothing else.
        assert [(lead["email"], lead["source"]) for lead in await leads(cycle)] == [("agent@example.com", "webhook")]
        [stored] = await transactions(cycle)
        assert stored["Id"] == made["Id"] and stored["Records"]["event"] == {"email": "agent@example.com",
                                                                              "note": "kept"}

        # A record the leads service refuses: Errored, with its message; nothing more was created.
        result = await client.call_tool(TOOL, {"name": "No Email"})
        assert result.is_error, result.content
        answer = result.structured_content
        assert answer["Status"] == "Completed" and answer["TotalTransactions"] == 1, answer
        [failed] = answer["Transactions"]
        assert failed["Status"] == "Errored" and failed["Step"] == "lead" and failed["Message"], failed
        assert "Errored" in result.content[0].text
        assert len(await leads(cycle)) == 1

        # The agent polls a call by its resource: the same outcome.
        read = await client.read_resource(answer["Poll"])
        assert '"Status":"Errored"' in read.contents[0].text and failed["Id"] in read.contents[0].text
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert "cyclewright://cycles/{id}/events/{event}" in templates

    # The webhook's own events still arrive as before, beside the agent's.
    async with httpx.AsyncClient() as http:
        assert (await http.post(webhook_url(cycle), json={"email": "posted@example.com"})).status_code == 202


async def test_only_marked_templates_of_the_accounts_own_active_cycles_are_tools(api, api_url, demo):
    mine = await callable_cycle(api, demo.url)
    other = await install_template(api, demo.url, EVENTS_TEMPLATE)  # another template, unmarked
    (await other.activate()).raise_for_status()
    async with mcp_session(api_url, await account_token(api, other.account_id)) as client:
        assert TOOL not in {t.name for t in (await client.list_tools()).tools}  # unmarked: no tool
        with pytest.raises(MCPError, match=f"no tool '{TOOL}'"):
            await client.call_tool(TOOL, {"email": "intruder@example.com"})
        with pytest.raises(MCPError, match="not found"):  # nor can it read the other's calls
            await client.read_resource(f"cyclewright://cycles/{mine.cycle_id}/events/1")

    # Marked, the other account's template is its own tool: and each session calls its own cycle.
    assert (await mark(api, other)).status_code == 200
    async with mcp_session(api_url, await account_token(api, other.account_id)) as client:
        result = await client.call_tool(TOOL, {"email": "other@example.com"})
        assert not result.is_error and result.structured_content["Status"] == "Completed", result.content
    assert await transactions(mine) == []
    assert [t["Records"]["event"]["email"] for t in await transactions(other)] == ["other@example.com"]

    # Unmarked again, or its cycle not active: no tool.
    assert (await mark(api, other, False)).json() == {"Callable": False}
    (await mine.deactivate()).raise_for_status()
    await mine.wait_for_status("Stopped")
    for cycle in (mine, other):
        async with mcp_session(api_url, await account_token(api, cycle.account_id)) as client:
            assert TOOL not in {t.name for t in (await client.list_tools()).tools}


async def test_marking_a_template_checks_its_trigger(api, demo):
    cycle = await install_template(api, demo.url, EVENTS_TEMPLATE)
    assert (await api.get(f"/v1.0/templates/{cycle.cycle['TemplateId']}/agent-tool")).json() == {"Callable": False}
    method_trigger = {"Name": "Polled", "Steps": [
        {"Id": "contacts", "Connector": "Demo CRM", "Method": "list-contacts"}]}
    template = (await api.post("/v1.0/templates", json=method_trigger)).json()
    response = await api.put(f"/v1.0/templates/{template['Id']}/agent-tool", json={"Callable": True})
    assert response.status_code == 422, response.text
    [problem] = response.json()["Errors"]
    assert problem["Path"] == "$.Callable" and "Webhook step" in problem["Message"]
    assert (await api.get(f"/v1.0/templates/{template['Id']}/agent-tool")).json() == {"Callable": False}
    response = await api.put(f"/v1.0/templates/{template['Id']}/agent-tool", json={"Callable": "maybe"})
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"].endswith("Callable")
    assert (await api.put("/v1.0/templates/nope/agent-tool", json={"Callable": True})).status_code == 404


async def test_a_call_whose_transactions_outlast_the_wait_answers_running_and_how_to_poll(api, demo):
    """An API process that waits one second: the leads service holds the lead meanwhile."""
    cycle = await callable_cycle(api, demo.url)
    await cycle.demo("hold")
    port = free_port()
    impatient = api_process(port, env={"CYCLEWRIGHT_MCP_RUN_WAIT_SECONDS": "1"}, log="impatient-api.log")
    try:
        url = f"http://127.0.0.1:{port}"
        async with mcp_session(url, await account_token(api, cycle.account_id)) as client:
            result = await client.call_tool(TOOL, {"email": "slow@example.com"})
            assert not result.is_error, result.content
            answer = result.structured_content
            assert answer["Status"] in ("Queued", "Running") and f"Poll: read the resource {answer['Poll']}" in \
                result.content[0].text
            # The premise: the lead's request is at the leads service, held.
            await eventually(lambda: _waiting(cycle), "the lead's request to be held at the leads service")
            await cycle.demo("release")

            async def completed() -> dict | None:
                read = json.loads((await client.read_resource(answer["Poll"])).contents[0].text)
                return read if read["Status"] == "Completed" else None

            polled = await eventually(completed, "the call's transactions to end")
            assert [t["Status"] for t in polled["Transactions"]] == ["Success"]
    finally:
        impatient.stop()
    assert [lead["email"] for lead in await leads(cycle)] == ["slow@example.com"]


async def _waiting(cycle: Installed) -> bool:
    return (await cycle.demo_stats())["waiting"] == 1
