"""Acceptance (issue 19, points 1 and 4): the MCP server at /mcp lists an account's tools to the
official MCP Python client (and to the MCP Inspector's CLI: test_mcp_inspector.py), every schema
valid JSON Schema; a read tool returns the demo API's records; one account's session cannot see
or call another's tools or read its resources; a method the partner did not expose is no tool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.tool_name_validation import validate_tool_name

from tests.walkthrough import install_demo_cycle


async def agent_token(api: httpx.AsyncClient, account_id: str, kind: str = "agent") -> str:
    """A token for one account's MCP server: an agent's (it opens nothing else), or with
    kind="account" an account token (which opens it too)."""
    response = await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "test-client",
                                                    "client_secret": "test-secret", "scope": f"{kind}:{account_id}"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@asynccontextmanager
async def mcp_session(api_url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(f"{api_url}/mcp", http_client=http), cache=None) as client:
        yield client


async def expose(api: httpx.AsyncClient, connector: str, *methods: dict) -> None:
    connectors = {c["Name"]: c["Id"] for c in (await api.get("/v1.0/connectors")).json()}
    response = await api.put(f"/v1.0/connectors/{connectors[connector]}/agent-tools", json={"Methods": list(methods)})
    assert response.status_code == 200, response.text


async def connected_account(api, demo, contacts: int = 3):
    cycle = await install_demo_cycle(api, demo.url, contacts=contacts)
    await expose(api, "Demo CRM", {"Method": "list-contacts"})
    await expose(api, "Demo Leads", {"Method": "create-lead"}, {"Method": "list-lead-sources"})
    return cycle


async def test_the_python_client_lists_valid_tools_and_a_read_returns_records(api, api_url, demo):
    cycle = await connected_account(api, demo, contacts=3)
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"demo_crm_list_contacts", "demo_leads_create_lead", "demo_leads_list_lead_sources"}
        for tool in tools.values():
            validate_tool_name(tool.name)
            assert len(tool.name) <= 64
            Draft202012Validator.check_schema(tool.input_schema)
            Draft202012Validator.check_schema(tool.output_schema)
        create = tools["demo_leads_create_lead"]
        assert create.input_schema["required"] == ["Email", "Source"]  # Name is optional
        assert create.input_schema["properties"]["Email"]["type"] == "string"
        assert "_key" in create.input_schema["properties"] and not create.annotations.read_only_hint
        assert tools["demo_crm_list_contacts"].annotations.read_only_hint
        record = tools["demo_crm_list_contacts"].output_schema["properties"]["Records"]["items"]
        assert {"Id", "Email", "CompanyName"} <= set(record["properties"])

        result = await client.call_tool("demo_crm_list_contacts", {})
        assert not result.is_error, result.content
        records = result.structured_content["Records"]
        assert [r["Email"] for r in records] == [f"contact{i}@example.com" for i in range(1, 4)]
        assert result.structured_content["Truncated"] is False
        Draft202012Validator(tools["demo_crm_list_contacts"].output_schema).validate(result.structured_content)
        assert "contact1@example.com" in result.content[0].text

        # Bad input: an error result naming the argument; nothing is called.
        result = await client.call_tool("demo_crm_list_contacts", {"Nope": 1})
        assert result.is_error and "Nope" in result.content[0].text


async def test_a_large_read_is_cut_and_says_so(api, api_url, demo):
    cycle = await connected_account(api, demo, contacts=150)
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        result = await client.call_tool("demo_crm_list_contacts", {})
    assert not result.is_error, result.content
    assert result.structured_content["Truncated"] is True
    assert len(result.structured_content["Records"]) == 100  # of the page's 150 (the demo's page is 500)
    assert "cut: 100 of the page's 150 records" in result.content[0].text


async def test_an_account_sees_and_calls_only_its_own_tools_and_resources(api, api_url, demo):
    mine = await connected_account(api, demo)
    other = await connected_account(api, demo)
    assert mine.account_id != other.account_id
    async with mcp_session(api_url, await agent_token(api, mine.account_id)) as client:
        # The names are the same in both accounts: each session's call reaches its own connector.
        resources = {r.uri: r for r in (await client.list_resources()).resources}
        assert f"cyclewright://cycles/{mine.cycle_id}" in resources
        assert f"cyclewright://cycles/{mine.cycle_id}/runs" in resources
        assert not any(other.cycle_id in uri for uri in resources)
        read = await client.read_resource(f"cyclewright://cycles/{mine.cycle_id}")
        assert mine.cycle_id in read.contents[0].text
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"cyclewright://cycles/{other.cycle_id}")
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"cyclewright://cycles/{other.cycle_id}/runs")

    # An unexposed method is no tool, and cannot be called.
    await expose(api, "Demo CRM")  # [] exposes none
    async with mcp_session(api_url, await agent_token(api, mine.account_id)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "demo_crm_list_contacts" not in names and "demo_leads_list_lead_sources" in names
        with pytest.raises(MCPError, match="no tool 'demo_crm_list_contacts'"):
            await client.call_tool("demo_crm_list_contacts", {})

    # An account without connectors has no tools: the other's are not its own.
    lonely = (await api.post("/v1.0/accounts", json={"Name": "Lonely"})).json()["Id"]
    async with mcp_session(api_url, await agent_token(api, lonely)) as client:
        assert (await client.list_tools()).tools == []
        assert (await client.list_resources()).resources == []
        with pytest.raises(MCPError, match="no tool 'demo_leads_list_lead_sources'"):
            await client.call_tool("demo_leads_list_lead_sources", {})


async def test_only_an_account_token_opens_the_server_and_a_client_finds_its_token(api, api_url, demo):
    cycle = await connected_account(api, demo)
    async with httpx.AsyncClient(base_url=api_url) as http:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        response = await http.post("/mcp", json=ping, headers={"X-Account-Id": cycle.account_id})
        assert response.status_code == 401 and response.json()["Message"].startswith("a bearer token is required")
        challenge = response.headers["www-authenticate"]
        metadata_url = f"{api_url}/.well-known/oauth-protected-resource/mcp"
        assert challenge == f'Bearer resource_metadata="{metadata_url}", scope="agent:{cycle.account_id}"'

        response = await http.post("/mcp", json=ping, headers={"Authorization": api.headers["Authorization"]})
        assert response.status_code == 403 and "one account's" in response.json()["Message"]
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]

        # An account token opens it as well (an agent token opens nothing else).
        account = {"Authorization": f"Bearer {await agent_token(api, cycle.account_id, kind='account')}"}
        listed = await http.post("/mcp", json=ping, headers={**account, "Accept": "application/json, text/event-stream"})
        assert listed.status_code == 200 and "tools" in listed.json()["result"], listed.text

        # Stateless: no stream to open, no session to end.
        token = {"Authorization": f"Bearer {await agent_token(api, cycle.account_id)}"}
        for method in ("GET", "DELETE"):
            response = await http.request(method, "/mcp", headers=token)
            assert response.status_code == 405 and response.json()["Message"], response.text
        assert (await http.put("/mcp", headers=token)).status_code == 405

        resource = (await http.get(metadata_url)).json()
        assert resource["resource"] == f"{api_url}/mcp" and resource["authorization_servers"] == [api_url]
        server = (await http.get("/.well-known/oauth-authorization-server")).json()
        assert server["token_endpoint"] == f"{api_url}/oauth/token"
        assert server["grant_types_supported"] == ["client_credentials"]


async def test_the_partner_exposes_methods_and_bad_input_names_the_field(api, demo):
    await install_demo_cycle(api, demo.url, contacts=1)
    connectors = {c["Name"]: c["Id"] for c in (await api.get("/v1.0/connectors")).json()}
    path = f"/v1.0/connectors/{connectors['Demo Leads']}/agent-tools"
    assert (await api.put(path, json={"Methods": [{"Method": "create-lead", "Approval": True}]})).status_code == 200
    before = (await api.get(path)).json()
    assert before == {"Methods": [{"Method": "create-lead", "Approval": True, "ApprovalTimeoutMinutes": 1440.0}]}
    for methods, where, what in (
        ([{"Method": "nope"}], "$.Methods[0].Method", "has no method 'nope'"),
        ([{"Method": "create-lead"}, {"Method": "lead-events"}], "$.Methods[1].Method", "Webhook"),
        ([{"Method": "whoami", "Approval": True}], "$.Methods[0].Approval", "only writes"),
        ([{"Method": "whoami"}, {"Method": "whoami"}], "$.Methods[1].Method", "twice"),
    ):
        response = await api.put(path, json={"Methods": methods})
        assert response.status_code == 422, response.text
        (error,) = response.json()["Errors"]
        assert error["Path"] == where and what in error["Message"], error
    assert (await api.get(path)).json() == before  # nothing changed
    assert (await api.put(path, json={"Methods": [{"Method": "x", "ApprovalTimeoutMinutes": 0}]})).status_code == 422
    assert (await api.get("/v1.0/connectors/nope/agent-tools")).status_code == 404


class Tokens:
    """Where the SDK's OAuth provider keeps what it obtained (in memory)."""

    def __init__(self) -> None:
        self.tokens, self.client = None, None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client) -> None:
        self.client = client


async def test_a_standard_client_obtains_an_account_token_by_discovery(api, api_url, demo):
    """The MCP authorization flow: 401 → protected resource metadata → the authorization
    server's metadata → client credentials at its token endpoint, scope agent:<id>."""
    from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

    cycle = await connected_account(api, demo, contacts=1)
    tokens = Tokens()
    provider = ClientCredentialsOAuthProvider(f"{api_url}/mcp", tokens, "test-client", "test-secret", issuer=api_url)
    http = httpx2.AsyncClient(auth=provider, headers={"X-Account-Id": cycle.account_id}, timeout=60)
    async with http, Client(streamable_http_client(f"{api_url}/mcp", http_client=http), cache=None) as client:
        assert "demo_crm_list_contacts" in {tool.name for tool in (await client.list_tools()).tools}
    assert tokens.tokens.scope == f"agent:{cycle.account_id}"


async def source_requests(demo_url: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{demo_url}/admin/requests", params={"prefix": "/leads/sources"})).json()


async def test_tool_calls_are_rate_limited_per_account(api, api_url, demo):
    """CYCLEWRIGHT_MCP_CALLS_PER_MINUTE (120 by default): the account past it is told when to
    try again, and nothing is called; another account's calls go on."""
    busy, calm = await connected_account(api, demo), await connected_account(api, demo)
    async with mcp_session(api_url, await agent_token(api, busy.account_id)) as client:
        for _ in range(120):
            result = await client.call_tool("demo_leads_list_lead_sources", {})
            assert not result.is_error, result.content
        assert len(await source_requests(demo.url)) == 120
        refused = await client.call_tool("demo_leads_list_lead_sources", {})
    assert refused.is_error and "at most 120 tool calls a minute" in refused.content[0].text
    assert len(await source_requests(demo.url)) == 120  # the refused call sent nothing
    async with mcp_session(api_url, await agent_token(api, calm.account_id)) as client:
        assert not (await client.call_tool("demo_leads_list_lead_sources", {})).is_error


async def test_the_accounts_custom_fields_are_in_the_input_schema(api, api_url, demo):
    cycle = await connected_account(api, demo)
    leads = next(a["Id"] for a in (await cycle.call("GET", "/v1.0/account/connectors")).json()
                 if a["Name"].startswith("Demo Leads"))
    async with mcp_session(api_url, await agent_token(api, cycle.account_id)) as client:
        before = next(t for t in (await client.list_tools()).tools if t.name == "demo_leads_create_lead")
        response = await cycle.call("POST", f"/v1.0/account/connectors/{leads}/methods/create-lead/customfields")
        assert response.status_code == 200, response.text
        after = next(t for t in (await client.list_tools()).tools if t.name == "demo_leads_create_lead")
    added = {name: schema for name, schema in after.input_schema["properties"].items()
             if name not in before.input_schema["properties"]}
    assert sorted((s["title"], s["type"], s.get("enum")) for s in added.values()) == [
        ("Budget", "integer", None), ("Favourite colour", "string", ["red", "green", "blue"])], added
    colour = next(name for name, s in added.items() if s["title"] == "Favourite colour")
    assert colour in after.input_schema["required"]
    Draft202012Validator.check_schema(after.input_schema)
