"""Cyclr connector files load: Cyclr's display and bookkeeping properties are ignored and listed,
its DisplayName is the field's label; a property nobody knows is an error that suggests the
nearest one."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app as cli
from connectors import ConnectorInvalid, ignored_properties, parse_connector
from connectors.cyclr import MESSAGE

CYCLR_FILE = {
    "Id": 4021, "Name": "Cyclr CRM", "Version": "2", "Icon": "https://cdn.example/crm.png",
    "Status": "Live", "Comments": "exported from Cyclr",
    "Authentication": [{"AuthType": "ApiKey", "ApiKeyName": "X-Api-Key", "Description": "Your API key."}],
    "Parameters": [{"Name": "Domain", "TargetType": "MergeField", "IsAccountConnectorProperty": True,
                    "DisplayName": "Domain", "Multiline": False}],
    "Methods": [{
        "UniqueIdentifier": "list", "Name": "List Contacts", "HttpMethod": "GET", "Hide": False,
        "Status": "Live", "Warning": "", "Comments": "", "Subcategory": "People",
        "Endpoint": "https://{{Domain}}/contacts",
        "ResponseFormat": {"Fields": [{"ConnectorField": "[].id", "SystemField": "Id", "DisplayName": "ID"}]},
    }],
}


def test_a_cyclr_file_loads_and_lists_what_it_ignores():
    connector = parse_connector(CYCLR_FILE)
    assert connector.method("list").response_fields[0].SystemField == "Id"
    ignored = {p.path: p.message for p in ignored_properties(CYCLR_FILE)}
    assert set(ignored) == {
        "$.Id", "$.Icon", "$.Status", "$.Comments", "$.Authentication[0].Description",
        "$.Parameters[0].DisplayName", "$.Parameters[0].Multiline",
        "$.Methods[0].Hide", "$.Methods[0].Status", "$.Methods[0].Warning", "$.Methods[0].Comments",
        "$.Methods[0].Subcategory",
    }
    assert set(ignored.values()) == {MESSAGE}
    assert ignored_properties({**CYCLR_FILE, "Icon": None}) != []  # listed whatever its value


def test_a_cyclr_display_name_is_the_fields_label():
    assert parse_connector(CYCLR_FILE).method("list").response_fields[0].DisplayField == "ID"
    both = json.loads(json.dumps(CYCLR_FILE))
    both["Methods"][0]["ResponseFormat"]["Fields"][0]["DisplayField"] = "Identifier"
    assert parse_connector(both).method("list").response_fields[0].DisplayField == "Identifier"
    assert {(p.path, p.message) for p in ignored_properties(both)} >= {(
        "$.Methods[0].ResponseFormat.Fields[0].DisplayName",
        "ignored: Cyclr's name for DisplayField, which is given too")}


@pytest.mark.parametrize(("where", "typo", "message"), [
    (("Methods", 0), "Endpiont", "unknown property; did you mean 'Endpoint'?"),
    (("Methods", 0, "ResponseFormat", "Fields", 0), "SytemField", "unknown property; did you mean 'SystemField'?"),
    (("Authentication", 0), "ApiKeyLocaton", "unknown property; did you mean 'ApiKeyLocation'?"),
    ((), "PagedInbond", "unknown property; did you mean 'PagedInbound'?"),
    ((), "Colour", "unknown property"),
])
def test_an_unknown_property_is_an_error_suggesting_the_nearest(where, typo, message):
    document = json.loads(json.dumps(CYCLR_FILE))
    node = document
    for part in where:
        node = node[part]
    node[typo] = "x"
    with pytest.raises(ConnectorInvalid) as caught:
        parse_connector(document)
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where) + f".{typo}"
    assert [(p.path, p.message) for p in caught.value.problems] == [(path, message)]


def test_validate_prints_ignored_properties_as_notices(tmp_path):
    file = tmp_path / "cyclr.json"
    file.write_text(json.dumps(CYCLR_FILE))
    result = CliRunner().invoke(cli, ["connector", "validate", str(file)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "12 property(ies) ignored" in result.output
    assert f"$.Methods[0].Subcategory: {MESSAGE}" in result.output

    file.write_text(json.dumps({**CYCLR_FILE, "AuthTestMehtod": "list"}))
    result = CliRunner().invoke(cli, ["connector", "validate", str(file)])
    assert result.exit_code == 1 and "did you mean 'AuthTestMethod'?" in result.output
