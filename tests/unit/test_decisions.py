"""A Decision's condition over one transaction (activities.decisions.decide): every operator,
typed comparison by DataType, and missing operands."""

from __future__ import annotations

import pytest

from activities.decisions import decide
from connectors.errors import FieldValueError
from store.plans import typed_decision
from store.template_spec import Condition, DecisionStep

RECORDS = {"c": {
    "Status": "active", "Email": "ada@example.com", "Count": "7", "Number": 7, "Amount": 3.5, "Flag": True,
    "Created": "2026-03-04T05:06:07+00:00", "Tags": ["vip", "eu"], "Empty": "", "Note": "None of the above",
}}
VARIABLES = {"Threshold": "5", "Domain": "example.com"}


def field(name: str) -> dict:
    return {"MappingType": "StepField", "SourceStep": "c", "SourceField": name}


def static(value: str) -> dict:
    return {"MappingType": "StaticValue", "Value": value}


def decided(left: dict, operator: str, right: dict | None = None, data_type: str | None = None) -> bool:
    condition = Condition(Left=left, Operator=operator, Right=right, DataType=data_type)
    return decide(condition, RECORDS, VARIABLES)


def test_equals_and_not_equals_as_text():
    assert decided(field("Status"), "Equals", static("active"))
    assert not decided(field("Status"), "Equals", static("Active"))  # text compares exactly
    assert decided(field("Status"), "NotEquals", static("inactive"))
    assert not decided(field("Status"), "NotEquals", static("active"))


def test_exists_and_not_exists():
    assert decided(field("Status"), "Exists")
    assert decided(field("Flag"), "Exists") and decided(field("Number"), "Exists")
    for absent in ("Missing", "Empty"):  # an empty value is no value
        assert not decided(field(absent), "Exists")
        assert decided(field(absent), "NotExists")
    assert not decided(field("Status"), "NotExists")
    assert not decided({"MappingType": "Variable", "Variable": "Nope"}, "Exists")


def test_greater_than_and_less_than_as_numbers():
    assert decided(field("Number"), "GreaterThan", static("5"))  # a number in the record compares as one
    assert not decided(field("Number"), "GreaterThan", static("10"))
    assert decided(field("Number"), "LessThan", static("10"))
    assert decided(field("Amount"), "LessThan", static("3.75"))
    assert not decided(field("Number"), "LessThan", static("7"))
    assert decided(field("Number"), "GreaterThan", {"MappingType": "Variable", "Variable": "Threshold"})


def test_data_type_decides_how_text_compares():
    # As text "7" > "10"; as an Integer it is not. The plan sets DataType from the Left field's own.
    assert decided(field("Count"), "GreaterThan", static("10"))
    assert not decided(field("Count"), "GreaterThan", static("10"), "Integer")
    assert decided(field("Count"), "LessThan", static("10"), "Decimal")
    assert decided(field("Count"), "Equals", static("7.0"), "Integer")  # 7 equals 7.0 as a number
    assert not decided(field("Count"), "Equals", static("7.0"))
    assert decided({**field("Count"), "DataType": "Integer"}, "LessThan", static("10"))  # the operand's own


def test_dates_compare_as_moments():
    assert decided(field("Created"), "LessThan", static("2026-03-05"), "DateTime")
    assert decided(field("Created"), "GreaterThan", static("2026-03-04T00:00:00Z"), "DateTime")
    assert decided(field("Created"), "Equals", static("2026-03-04T07:06:07+02:00"), "DateTime")
    assert not decided(field("Created"), "Equals", static("2026-03-04T07:06:07+02:00"))  # as text they differ


def test_booleans_compare_by_truth():
    assert decided(field("Flag"), "Equals", static("true"))
    assert decided(field("Flag"), "Equals", static("yes"))
    assert decided(field("Flag"), "NotEquals", static("0"))


def test_contains_a_substring_or_a_list_element():
    assert decided(field("Email"), "Contains", static("@example."))
    assert not decided(field("Email"), "Contains", static("@example.org"))
    assert decided(field("Tags"), "Contains", static("eu"))
    assert not decided(field("Tags"), "Contains", static("e"))  # an element, not part of one
    assert decided(field("Email"), "Contains", {"MappingType": "Variable", "Variable": "Domain"})


def test_matches_a_regular_expression_anywhere():
    assert decided(field("Email"), "Matches", static(r"^[a-z]+@example\.com$"))
    assert decided(field("Email"), "Matches", static("example"))  # a search, not a full match
    assert not decided(field("Email"), "Matches", static("^example"))


def test_a_missing_left_operand_is_unequal_and_nothing_else():
    for operator in ("Equals", "GreaterThan", "LessThan", "Contains", "Matches"):
        assert not decided(field("Missing"), operator, static("x")), operator
    assert decided(field("Missing"), "NotEquals", static("x"))


def test_a_missing_right_operand_is_not_contained_or_matched():
    nothing = {"MappingType": "Variable", "Variable": "Unset"}
    # Not the text "None": a value that happens to hold it is no match for a missing operand.
    assert not decided(field("Note"), "Contains", nothing)
    assert not decided(field("Note"), "Matches", nothing)
    assert not decided(field("Note"), "Equals", nothing)
    assert decided(field("Note"), "NotEquals", nothing)
    assert not decided(field("Number"), "GreaterThan", nothing)
    assert not decided(field("Number"), "LessThan", nothing)


def test_a_right_operand_that_does_not_convert_is_an_error_naming_the_type():
    with pytest.raises(FieldValueError, match="compares as Decimal: 'lots' is not a valid Decimal"):
        decided(field("Number"), "GreaterThan", static("lots"))
    with pytest.raises(FieldValueError, match="compares as DateTime"):
        decided(field("Created"), "LessThan", static("next week"), "DateTime")


def test_a_regular_expression_made_at_run_time_that_does_not_compile_is_an_error():
    pattern = {"MappingType": "Expression", "Expression": "([{{c.Status}}"}  # not checked when saved
    with pytest.raises(FieldValueError, match="'\\(\\[active': not a regular expression RE2 accepts"):
        decided(field("Email"), "Matches", pattern)


def test_a_pattern_that_backtracks_in_pythons_re_gives_its_answer_over_a_long_value():
    # ^(a+)+$ against 29 a's and a "!" held Python's re for 55 s; against these, for ever.
    records = {"c": {"Text": "a" * 100_000 + "!", "Plain": "a" * 100_000}}
    pattern = static("^(a+)+$")
    assert not decide(Condition(Left=field("Text"), Operator="Matches", Right=pattern), records, {})
    assert decide(Condition(Left=field("Plain"), Operator="Matches", Right=pattern), records, {})
    # The whole value is searched: a match past its first 10,000 characters counts.
    assert decide(Condition(Left=field("Text"), Operator="Matches", Right=static("a!$")), records, {})


def planned(left: dict, operator: str, right: dict, data_type: str | None = None) -> bool:
    """Decided as a run decides it: its plan types the condition by the Left field's DataType."""
    step = DecisionStep(Id="d", Type="Decision", Condition=Condition(Left=left, Operator=operator, Right=right,
                                                                     DataType=data_type))
    fields = {("c", "Count"): "Text", ("c", "Number"): "Integer"}  # as the connector's response declares them
    return decide(typed_decision(step, fields).Condition, RECORDS, VARIABLES)


def test_a_run_compares_as_the_left_fields_data_type_unless_the_condition_or_the_operand_names_one():
    assert planned(field("Count"), "GreaterThan", static("10"))  # a Text field: as text
    assert planned(field("Number"), "Equals", static("7.0"))  # an Integer field: as a number
    assert not planned(field("Count"), "GreaterThan", static("10"), "Integer")
    assert not planned({**field("Count"), "DataType": "Integer"}, "GreaterThan", static("10"))
    assert planned({**field("Count"), "DataType": "Integer"}, "LessThan", static("10"))
