"""MCP tools made from connector methods (api/agents/schemas.py): names MCP clients take, input
and output schemas that are valid JSON Schema for every method of the catalog and of the
connector corpus, and argument errors that name the argument but never quote its value."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator
from mcp.shared.tool_name_validation import validate_tool_name

from api.agents.schemas import (
    NAME_LENGTH,
    input_schema,
    read_output_schema,
    tool_name,
    write_output_schema,
)
from api.agents.tools import bounded, invalid_arguments
from connectors import load_connector
from runtime.catalog import CATALOG

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "connectors" / "valid"
DOCUMENTS = sorted([*(CATALOG / "connectors").glob("*.json"), *CORPUS.glob("*.json")])


def test_names_are_mcp_names_unique_and_short():
    taken: set[str] = set()
    first = tool_name("Demo CRM", "list-contacts", taken, "ac1/list-contacts")
    assert first == "demo_crm_list_contacts"
    taken.add(first)
    second = tool_name("Demo CRM", "list-contacts", taken, "ac2/list-contacts")  # a second install
    assert second != first and second.startswith("demo_crm_list_contacts_")
    assert second == tool_name("Demo CRM", "list-contacts", taken, "ac2/list-contacts")  # stable
    long = tool_name("A connector whose name is long" * 3, "a method whose name is long too", set(), "x")
    odd = tool_name("Ünïcode / spaces!", "GET:/v1/things/{id}", set(), "y")
    for name in (first, second, long, odd):
        validate_tool_name(name)
        assert len(name) <= NAME_LENGTH and name == name.lower()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_methods_schemas_are_valid_json_schema(path: Path):
    connector = load_connector(json.loads(path.read_text()))
    for method in connector.Methods:
        write = method.HttpMethod != "Get"
        Draft202012Validator.check_schema(input_schema(connector, method, write).schema)
        Draft202012Validator.check_schema(write_output_schema(method) if write else read_output_schema(method))


def test_argument_errors_name_the_argument_not_its_value():
    connector = load_connector(json.loads((CATALOG / "connectors" / "demo-leads.json").read_text()))
    arguments = input_schema(connector, connector.method("create-lead"), write=True)
    problems = invalid_arguments(arguments.schema, {"Email": {"secret": "s3cr3t-value"}, "Extra": 1})
    assert ("arguments", "'Source' is a required property") in problems
    assert ("arguments.Email", "must satisfy type: string") in problems
    assert any(path == "arguments" and "'Extra' was unexpected" in message for path, message in problems)
    assert "s3cr3t-value" not in repr(problems)
    assert arguments.split({"Email": "a@b.c", "Source": "crm"}) == {
        "Parameters": {}, "Fields": {"Email": "a@b.c", "Source": "crm"}}


def test_a_read_answer_is_bounded():
    assert len(bounded([{"n": i} for i in range(500)])) == 100
    big = [{"notes": "x" * 10_000} for _ in range(20)]
    assert len(bounded(big)) == 6  # 64 kB of JSON


def test_the_mcp_server_is_admitted_in_the_agents_lane():
    from api.admission import Admission
    from api.app import create_app

    app = create_app()
    routes = next(m.kwargs["routes"] for m in app.user_middleware if m.cls is Admission)
    assert routes.find("POST", "/mcp").route.lane is app.state.lanes.agents
    assert routes.find("POST", "/mcp/other") is None
    assert routes.find("GET", "/.well-known/oauth-protected-resource/mcp").route.lane is None  # answers however busy


def test_a_call_key_is_the_clients_else_the_request_and_its_arguments():
    from api.agents.tools import call_key

    tool = SimpleNamespace(definition=SimpleNamespace(name="demo_leads_create_lead"))
    assert call_key(tool, {"_key": "k1", "Email": "a"}, 7) == "key:k1"
    one, same = call_key(tool, {"Email": "a"}, 7), call_key(tool, {"Email": "a"}, 7)
    assert one == same and one.startswith("request:7:")
    assert call_key(tool, {"Email": "b"}, 7) != one  # the same id reused for another call: another key
    assert call_key(tool, {"Email": "\ud800"}, 8)  # a lone surrogate is valid JSON text
