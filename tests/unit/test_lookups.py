"""Lookups in the connector format: Triggers and TriggerName, CustomFieldsLookupMethod, and the
custom fields a lookup's records describe (connectors/lookups.py)."""

from __future__ import annotations

import copy

import pytest

from connectors import ConnectorInvalid, parse_connector
from connectors.lookups import (
    custom_fields,
    system_field,
    trigger_reader,
    trigger_values,
    with_custom_fields,
)
from connectors.paths import body_from_values, records_from_body
from tests.walkthrough import catalog_document

LEADS = catalog_document("connectors", "demo-leads.json")


def problems(document: dict) -> dict[str, str]:
    with pytest.raises(ConnectorInvalid) as caught:
        parse_connector(document)
    return {p.path: p.message for p in caught.value.problems}


def test_the_demo_leads_connector_has_a_trigger_and_a_custom_fields_lookup():
    connector = parse_connector(LEADS)
    create = connector.method("create-lead")
    assert next(f for f in create.request_fields if f.SystemField == "Source").TriggerName == "Lead sources"
    assert create.RequestFormat.CustomFieldsLookupMethod == create.ResponseFormat.CustomFieldsLookupMethod \
        == "lead-custom-fields"
    assert connector.trigger("Lead sources").Method == "list-lead-sources"


def test_a_trigger_or_lookup_naming_no_method_and_a_trigger_name_naming_no_trigger_are_refused_by_path():
    document = copy.deepcopy(LEADS)
    document["Triggers"].append({"Name": "Lists", "Method": "list-lists", "IdentifierKey": "[lists].id",
                                 "HumanReadableKey": "[lists"})
    document["Triggers"].append(dict(document["Triggers"][0]))
    document["Parameters"][0]["TriggerName"] = "Nothing"
    create = document["Methods"][0]
    create["RequestFormat"]["CustomFieldsLookupMethod"] = "list-custom-fields"
    create["ResponseFormat"]["Fields"][0]["TriggerName"] = "Lead source"
    create["Parameters"] = [{"TargetType": "QueryString", "TargetName": "list", "TriggerName": "Lists!"}]
    assert problems(document) == {
        "$.Triggers[1].Method": "no method has the UniqueIdentifier 'list-lists'",
        "$.Triggers[1].HumanReadableKey": "'[lists' is not a valid field path",
        "$.Triggers[2].Name": "'Lead sources' is the name of another trigger",
        "$.Parameters[0].TriggerName": "the connector has no trigger named 'Nothing'",
        "$.Methods[0].Parameters[0].TriggerName": "the connector has no trigger named 'Lists!'",
        "$.Methods[0].RequestFormat.CustomFieldsLookupMethod": "no method has the UniqueIdentifier "
                                                               "'list-custom-fields'",
        "$.Methods[0].ResponseFormat.Fields[0].TriggerName": "the connector has no trigger named 'Lead source'",
    }


def test_a_trigger_needs_its_method_and_both_keys():
    document = copy.deepcopy(LEADS)
    document["Triggers"] = [{"Name": "Lead sources"}]
    assert problems(document) == {f"$.Triggers[0].{key}": "is required"
                                  for key in ("Method", "IdentifierKey", "HumanReadableKey")}


def test_a_trigger_reads_each_value_with_its_label_at_its_keys():
    reader, method = trigger_reader(parse_connector(LEADS), "Lead sources")
    assert method == "list-lead-sources"
    body = {"sources": [{"id": "a", "name": "A"}, {"id": 7, "name": "Seven"}, {"name": "no id"}]}
    records = records_from_body(body, reader.method(method).response_fields)
    assert trigger_values(records) == [{"Value": "a", "Name": "A"}, {"Value": "7", "Name": "Seven"}]
    with pytest.raises(KeyError):
        trigger_reader(parse_connector(LEADS), "Lead source")


def test_lookup_records_describe_fields_and_what_makes_none_is_skipped_with_why():
    create = parse_connector(LEADS).method("create-lead")
    records = [
        {"field_location": "custom.colour", "display_name": "Colour", "data_type": "text", "is_optional": False,
         "values": ["red", "blue"]},
        {"cyclr_field_location": "[tags].label", "cyclr_display_name": "Tag", "cyclr_data_type": None,
         "cyclr_is_optional": None, "cyclr_values": None},
        {"field_location": "email", "display_name": "Email again"},
        {"field_location": "[others].Email"},
        {"field_location": "custom.colour"},
        {"field_location": "custom.size", "data_type": "Shoe size"},
        {"display_name": "Nowhere"},
    ]
    fields, skipped = custom_fields(create, "RequestFormat", records)
    assert [(f.ConnectorField, f.SystemField, f.DisplayField, f.DataType, f.IsOptional, f.Values)
            for f in fields] == [("custom.colour", "custom.colour", "Colour", "Text", False, ["red", "blue"]),
                                 ("[tags].label", "label", "Tag", "Text", True, [])]
    assert [p.path for p in skipped] == [f"RequestFormat[{i}]" for i in (2, 3, 4, 5, 6)]
    assert skipped[0].message == "the method's field 'Email' is at 'email' already"
    assert skipped[1].message == "the method has a field 'Email' already"
    assert skipped[2].message == "the method's field 'custom.colour' is at 'custom.colour' already"
    assert "data_type" in skipped[3].message and "field_location" in skipped[4].message


def test_custom_fields_join_one_method_and_the_releases_own_fields_win():
    connector = parse_connector(LEADS)
    fields, _ = custom_fields(connector.method("create-lead"), "RequestFormat",
                              [{"field_location": "custom.colour", "is_optional": False}])
    response, _ = custom_fields(connector.method("create-lead"), "ResponseFormat",
                                [{"field_location": "custom.score", "data_type": "Integer"}])
    clash = fields[0].model_copy(update={"SystemField": "Email"})
    seen = with_custom_fields(connector, {"create-lead": {"RequestFormat": [*fields, clash],
                                                          "ResponseFormat": response}})
    create = seen.method("create-lead")
    assert [f.SystemField for f in create.request_fields] == ["Email", "Name", "Source", "custom.colour"]
    assert create.request_fields[0].ConnectorField == "email"
    assert body_from_values(create.request_fields, {"Email": "a@b.c", "Source": "s", "custom.colour": "red"}) \
        == {"email": "a@b.c", "source": "s", "custom": {"colour": "red"}}
    assert records_from_body({"id": "l1", "email": "a@b.c", "custom": {"score": "4"}}, create.response_fields) \
        == [{"LeadId": "l1", "Email": "a@b.c", "custom.score": 4}]
    assert seen.method("whoami") == connector.method("whoami")
    assert connector.method("create-lead").request_fields[-1].SystemField == "Source"  # the release is unchanged


@pytest.mark.parametrize(("location", "name"), [("custom.colour", "custom.colour"), ("[leads].custom.score",
                                                "custom.score"), ("[a].[b].c", "c"), ("[tags]", "tags")])
def test_a_custom_fields_system_field_is_its_location_inside_the_record(location, name):
    assert system_field(location) == name
