"""Field mappings evaluated for one transaction (activities.mappings): every MappingType, DataType
conversion, and what a missing field, step or variable gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activities.mappings import field_value, mapped, value_of
from connectors.errors import FieldValueError
from connectors.mergefields import field_references, render, render_fields
from connectors.spec import Connector
from store.plans import StepPlan
from store.template_spec import MappingSpec, MethodStep

RECORDS = {
    "contacts": {"Id": "c1", "Email": "ada@example.com", "Status": "active", "Count": "7", "Amount": 3.5,
                 "Active": "yes", "Created": "2026-03-04T05:06:07+00:00", "Empty": ""},
    "hook": {"order": {"id": "o1", "lines": [{"sku": "A"}, {"sku": "B"}]}},  # an untyped webhook event
    "batch": [{"Email": "a@example.com"}, {"Email": "b@example.com"}, {"Other": 1}],  # an unsplit collection
}
VARIABLES = {"Region": "EU"}


def value(**mapping) -> object:
    return value_of(MappingSpec(**mapping), RECORDS, VARIABLES)


def step_field(field: str, step: str = "contacts", **more) -> object:
    return value(MappingType="StepField", SourceStep=step, SourceField=field, **more)


def test_static_value():
    assert value(MappingType="StaticValue", Value="crm") == "crm"


def test_step_field_reads_the_earlier_steps_record():
    assert step_field("Email") == "ada@example.com"
    assert step_field("Amount") == 3.5  # as the record holds it: no DataType, no conversion


def test_a_missing_field_or_step_is_none_not_an_error():
    assert step_field("Phone") is None
    assert step_field("Email", step="skipped") is None  # a step not on the transaction's path
    assert field_value({"contacts": "not a record"}, "contacts", "Email") is None


def test_step_field_reads_a_path_into_an_untyped_event():
    assert step_field("order.id", step="hook") == "o1"
    assert step_field("order.[lines].sku", step="hook") == ["A", "B"]
    assert step_field("order.nothing.here", step="hook") is None


def test_step_field_of_an_unsplit_collection_is_each_records_value():
    assert step_field("Email", step="batch") == ["a@example.com", "b@example.com", None]


def test_variable_and_a_missing_variable():
    assert value(MappingType="Variable", Variable="Region") == "EU"
    assert value(MappingType="Variable", Variable="Owner") is None


def test_value_list_looks_the_source_up_with_a_default():
    table = {"active": "A", "inactive": "I", "3.5": "three and a half", "true": "yes!"}
    lookup = {"MappingType": "ValueList", "SourceStep": "contacts", "Values": table, "Default": "?"}
    assert value(**lookup, SourceField="Status") == "A"
    assert value(**lookup, SourceField="Amount") == "three and a half"  # a number by its text
    assert value(**lookup, SourceField="Id") == "?"  # no entry: the Default
    assert value(**lookup, SourceField="Missing") == "?"
    assert value_of(MappingSpec(**{**lookup, "SourceField": "Flag"}), {"contacts": {"Flag": True}}, {}) == "yes!"
    without_default = MappingSpec(MappingType="ValueList", SourceStep="contacts", SourceField="Id", Values=table)
    assert value_of(without_default, RECORDS, {}) is None
    assert value(MappingType="ValueList", SourceStep="batch", SourceField="Email",
                 Values={"a@example.com": "first"}, Default="other") == ["first", "other", "other"]


def test_expression_renders_fields_with_a_date_format():
    expression = "{{contacts.Email}} since {{contacts.Created format=yyyy-MM-dd}} ({{ contacts.Id }})"
    assert value(MappingType="Expression", Expression=expression) == "ada@example.com since 2026-03-04 (c1)"
    assert value(MappingType="Expression",
                 Expression="{{contacts.Created format=dd/MM/yyyy HH:mm}}") == "04/03/2026 05:06"


def test_expression_renders_a_missing_field_empty_and_a_non_date_as_it_is():
    assert value(MappingType="Expression", Expression="[{{contacts.Phone}}|{{nowhere.X}}]") == "[|]"
    assert value(MappingType="Expression", Expression="{{contacts.Status format=yyyy}}") == "active"
    assert value(MappingType="Expression", Expression="{{hook.order.id}}/{{Region}}") == "o1/{{Region}}"


def test_an_expression_written_to_make_a_backtracking_pattern_work_is_read_in_one_pass():
    # An account may write a user-configurable mapping's Expression. "{{a.a.a…" made the earlier
    # pattern try every dot with every end: 3.6 s for the 10,000 characters an Expression may
    # have, quadratic beyond; these take hours that way, and one pass this way.
    dots = "{{contacts" + ".Email" * 40_000
    assert render_fields(dots, lambda step, field: "x") == dots  # no closing braces: no reference
    assert render_fields(dots + "}}", lambda step, field: f"{step}:{field[:5]}") == "contacts:Email"
    spaces = "{{contacts.Created format=" + " " * 200_000 + "}"
    assert render_fields(spaces, lambda step, field: "x") == spaces
    assert render("{{Region format=" + " " * 200_000 + "}", VARIABLES).startswith("{{Region")
    assert field_references("{{a.b.c}} {{ab {{c.d}} {{a..b format= x }}") == [("a", "b.c"), ("c", "d"), ("a", ".b")]


def test_ignore_has_no_value():
    assert value(MappingType="Ignore") is None


@pytest.mark.parametrize(("data_type", "field", "expected"), [
    ("Integer", "Count", 7),
    ("Decimal", "Count", 7.0),
    ("Float", "Amount", 3.5),
    ("Text", "Amount", "3.5"),
    ("Boolean", "Active", True),
    ("DateTime", "Created", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
])
def test_data_type_converts_the_value(data_type, field, expected):
    converted = step_field(field, DataType=data_type)
    assert converted == expected and type(converted) is type(expected)


def test_data_type_converts_static_values_variables_and_expressions():
    assert value(MappingType="StaticValue", Value="42", DataType="Integer") == 42
    assert value(MappingType="StaticValue", Value="2026-01-02", DataType="DateTime") == datetime(2026, 1, 2, tzinfo=UTC)
    assert value(MappingType="Variable", Variable="Region", DataType="Text") == "EU"
    assert value(MappingType="Expression", Expression="{{contacts.Count}}0", DataType="Integer") == 70
    assert value(MappingType="ValueList", SourceStep="contacts", SourceField="Status", Values={"active": "1"},
                 DataType="Boolean") is True


def test_a_missing_value_stays_missing_whatever_the_data_type():
    assert step_field("Phone", DataType="Integer") is None
    assert step_field("Empty", DataType="DateTime") is None
    assert value(MappingType="Variable", Variable="Owner", DataType="Boolean") is None


@pytest.mark.parametrize(("data_type", "field"), [
    ("Integer", "Email"), ("Integer", "Amount"), ("Decimal", "Status"), ("Boolean", "Count"), ("DateTime", "Status"),
])
def test_a_value_that_does_not_convert_is_a_field_error_naming_it(data_type, field):
    with pytest.raises(FieldValueError) as raised:
        step_field(field, DataType=data_type)
    assert repr(RECORDS["contacts"][field]) in str(raised.value) and data_type in str(raised.value)


def test_user_configurable_mapping_without_a_value_is_not_set():
    assert not MappingSpec(MappingType="StaticValue", UserConfigurable=True).is_set
    assert MappingSpec(MappingType="StaticValue", Value="x", UserConfigurable=True).is_set
    assert MappingSpec(MappingType="Variable", Variable="Region", UserConfigurable=True).is_set
    with pytest.raises(ValueError, match="needs a Value"):
        MappingSpec(MappingType="StaticValue")


CONNECTOR = Connector.model_validate({
    "Name": "Leads", "Methods": [{
        "UniqueIdentifier": "create", "Name": "Create", "HttpMethod": "Post", "Endpoint": "https://x.test/leads",
        "Parameters": [{"Name": "Region", "TargetType": "QueryString", "TargetName": "region"},
                       {"Name": "Notify", "TargetType": "QueryString", "TargetName": "notify"}],
        "RequestFormat": {"Fields": [{"ConnectorField": "email", "SystemField": "Email"},
                                     {"ConnectorField": "source", "SystemField": "Source", "IsOptional": True},
                                     {"ConnectorField": "since", "SystemField": "Since", "DataType": "DateTime",
                                      "IsOptional": True}]},
    }],
})


def plan(*mappings: dict) -> StepPlan:
    spec = MethodStep(Id="lead", Connector="Leads", Method="create", FieldMappings=list(mappings))
    return StepPlan(id="lead", cycle_step_id="s", name="Create", spec=spec, cycle_id="c", account_id="a",
                    collection_split="First", variables=VARIABLES)


def test_mapped_splits_request_fields_from_parameters_and_leaves_ignored_fields_out():
    step = plan(
        {"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
        {"Field": "Source", "MappingType": "Ignore"},
        {"Field": "Since", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Created",
         "DataType": "DateTime"},
        {"Field": "Region", "MappingType": "Variable", "Variable": "Region"},
        {"Field": "Notify", "MappingType": "StaticValue", "Value": "1", "DataType": "Boolean"},
    )
    fields, parameters = mapped(step, CONNECTOR, RECORDS)
    assert fields == {"Email": "ada@example.com", "Since": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)}
    assert parameters == {"Region": "EU", "Notify": "true"}  # parameters travel as text


def test_mapped_leaves_a_parameter_without_a_value_unset():
    step = plan({"Field": "Region", "MappingType": "Variable", "Variable": "Owner"})
    assert mapped(step, CONNECTOR, RECORDS) == ({}, {})
