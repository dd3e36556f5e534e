"""Bad step documents are refused with the JSON path of what is wrong ($.Steps[1].Condition.Right)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from connectors import Problem
from store import connectors, templates
from store.database import make_engine
from store.problems import Invalid
from tests.walkthrough import catalog_document

TRIGGER = {"Id": "contacts", "Type": "Method", "Connector": "Demo CRM", "Method": "list-contacts", "Next": "x"}
STATUS = {"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Status"}


def problems(*steps: dict) -> list[Problem]:
    with pytest.raises(Invalid) as raised:
        templates.parse_template({"Name": "t", "Steps": [TRIGGER, *steps]})
    return raised.value.problems


def decision(operator: str, right: dict | None = None, **more) -> dict:
    condition = {"Left": STATUS, "Operator": operator} | ({"Right": right} if right else {})
    return {"Id": "x", "Type": "Decision", "Condition": condition, **more}


def test_an_unknown_type_is_refused_at_its_type_alone():
    (problem,) = problems({"Id": "x", "Type": "Loop"})
    assert problem.path == "$.Steps[1].Type"
    assert "'Method', 'Decision', 'Delay', 'WaitUntil', 'Storage' or 'Webhook'" in problem.message
    assert [p.path for p in problems({"Id": "x", "Type": 3})] == ["$.Steps[1].Type"]


def test_a_decision_goes_on_by_true_and_false_next_not_next():
    assert problems(decision("Exists", Next="y")) == [
        Problem("$.Steps[1].Next", "a Decision goes on by TrueNext and FalseNext, not Next")]


def test_operands_are_checked_at_the_right_operand():
    assert problems(decision("Equals")) == [Problem("$.Steps[1].Condition.Right", "Equals needs a Right operand")]
    assert problems(decision("NotExists", {"MappingType": "StaticValue", "Value": "a"})) == [
        Problem("$.Steps[1].Condition.Right", "NotExists takes no Right operand")]
    assert problems(decision("Between", {"MappingType": "StaticValue", "Value": "a"}))[0].path == \
        "$.Steps[1].Condition.Operator"


@pytest.mark.parametrize(("pattern", "why"), [
    ("([", "missing ]"),  # invalid anywhere
    ("(?=a)b", "invalid perl operator: (?="),  # lookaround: Python's re takes it, RE2 does not
    (r"(a)\1", r"invalid escape sequence: \1"),  # a backreference
    (".{1000}x", "RE2 instructions; the limit is 5,000"),  # too large a program
])
def test_matches_with_a_pattern_re2_does_not_take_is_refused_at_its_operand(pattern, why):
    (problem,) = problems(decision("Matches", {"MappingType": "StaticValue", "Value": pattern}))
    assert problem.path == "$.Steps[1].Condition.Right"
    assert why in problem.message, problem.message
    values = {"MappingType": "ValueList", "SourceStep": "contacts", "SourceField": "Status",
              "Values": {"active": "^a", "other": pattern}}
    (problem,) = problems(decision("Matches", values))
    assert problem.path == "$.Steps[1].Condition.Right" and why in problem.message


def test_storage_operations_and_their_value():
    assert problems({"Id": "x", "Type": "Storage", "Operation": "Set", "Key": "k"}) == [
        Problem("$.Steps[1].Value", "a Set needs a Value")]
    assert problems({"Id": "x", "Type": "Storage", "Operation": "Get", "Key": "k", "Value": STATUS}) == [
        Problem("$.Steps[1].Value", "a Get takes no Value")]
    assert problems({"Id": "x", "Type": "Storage", "Operation": "Increment", "Key": ""})[0].path == "$.Steps[1].Key"


def test_half_written_mappings_and_bounds():
    assert problems({"Id": "x", "Type": "WaitUntil", "Until": {"MappingType": "StepField", "SourceStep": "a"}}) == [
        Problem("$.Steps[1].Until", "a StepField mapping needs SourceField")]
    assert problems({"Id": "x", "Type": "Delay", "Seconds": 0})[0].path == "$.Steps[1].Seconds"
    assert problems({"Id": "x", "Type": "Delay", "Seconds": 1, "Extra": 1})[0].path == "$.Steps[1].Extra"


def test_valid_documents_of_every_step_type_parse():
    spec = templates.parse_template({"Name": "t", "Steps": [
        TRIGGER,
        decision("Matches", {"MappingType": "StaticValue", "Value": "^act"}, TrueNext="d", FalseNext="s"),
        {"Id": "d", "Type": "Delay", "Seconds": 1, "Next": "w"},
        {"Id": "w", "Type": "WaitUntil", "Until": {"MappingType": "StaticValue", "Value": "2026-01-01"}},
        {"Id": "s", "Type": "Storage", "Operation": "Increment", "Key": "skipped"},
    ]})
    assert [s.Type for s in spec.Steps] == ["Method", "Decision", "Delay", "WaitUntil", "Storage"]


@pytest.fixture
def db(tmp_path):
    with Session(make_engine(f"sqlite:///{tmp_path / 'store.db'}")) as session:
        connectors.upload(session, catalog_document("connectors", "demo-crm.json"))
        connectors.upload(session, catalog_document("connectors", "demo-leads.json"))
        yield session


def checked(db: Session, *steps: dict) -> list[Problem]:
    return templates.check(db, templates.parse_template({"Name": "t", "Steps": list(steps)}))


LEAD = {"Id": "lead", "Type": "Method", "Connector": "Demo Leads", "Method": "create-lead"}


def test_a_step_field_from_a_later_step_is_refused(db):
    mappings = [{"Field": "Email", "MappingType": "StepField", "SourceStep": "count", "SourceField": "Value"}]
    assert checked(db, {**TRIGGER, "Next": "lead"}, {**LEAD, "Next": "count", "FieldMappings": mappings},
                   {"Id": "count", "Type": "Storage", "Operation": "Increment", "Key": "n"}) == [
        Problem("$.Steps[1].FieldMappings[0].SourceStep", "step 'count' does not come before this step on any path")]


def test_an_expression_naming_a_later_step_or_an_unknown_field_is_refused(db):
    mappings = [{"Field": "Email", "MappingType": "Expression", "Expression": "{{lead.LeadId}}@{{contacts.Nope}}"}]
    assert checked(db, {**TRIGGER, "Next": "lead"}, {**LEAD, "FieldMappings": mappings}) == [
        Problem("$.Steps[1].FieldMappings[0].Expression", "step 'lead' does not come before this step on any path"),
        Problem("$.Steps[1].FieldMappings[0].Expression", "step 'contacts' gives no field 'Nope'"),
    ]


def test_a_decision_operand_from_a_step_on_another_branch_is_refused(db):
    assert checked(
        db, {**TRIGGER, "Next": "active?"},
        decision("Equals", {"MappingType": "StaticValue", "Value": "active"}, Id="active?", TrueNext="lead",
                 FalseNext="other?"),
        {**LEAD, "FieldMappings": [{"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts",
                                    "SourceField": "Email"}, {"Field": "Source", "MappingType": "Ignore"}]},
        decision("Exists", Id="other?") | {"Condition": {"Left": {"MappingType": "StepField", "SourceStep": "lead",
                                                                   "SourceField": "LeadId"}, "Operator": "Exists"}},
    ) == [Problem("$.Steps[3].Condition.Left.SourceStep", "step 'lead' does not come before this step on any path")]


def test_the_trigger_must_be_a_method_or_a_webhook(db):
    assert checked(db, {"Id": "wait", "Type": "Delay", "Seconds": 5}) == [
        Problem("$.Steps[0].Type", "the first step (the trigger) must be a Method or a Webhook")]


def test_a_static_value_that_would_fail_every_transaction_is_refused_where_it_is_written():
    assert problems({"Id": "x", "Type": "WaitUntil", "Until": {"MappingType": "StaticValue", "Value": "tomorrow"}}) \
        == [Problem("$.Steps[1].Until", "'tomorrow' is not a valid DateTime")]
    assert problems({"Id": "x", "Type": "Storage", "Operation": "Increment", "Key": "k",
                     "Value": {"MappingType": "StaticValue", "Value": "two"}}) == [
        Problem("$.Steps[1].Value", "'two' is not a valid Decimal")]
    assert problems(decision("LessThan", {"MappingType": "StaticValue", "Value": "3.5", "DataType": "Integer"})) == [
        Problem("$.Steps[1].Condition.Right", "'3.5' is not a valid Integer")]
    mapping = {"Field": "Email", "MappingType": "StaticValue", "Value": "maybe", "DataType": "Boolean"}
    assert problems({**LEAD, "Id": "x", "FieldMappings": [mapping]}) == [
        Problem("$.Steps[1].FieldMappings[0]", "'maybe' is not a valid Boolean")]
    # What converts, or is not static, is left to the run.
    templates.parse_template({"Name": "t", "Steps": [TRIGGER, {
        "Id": "x", "Type": "WaitUntil", "Until": {"MappingType": "StaticValue", "Value": "2026-01-02 03:04"}}]})
    templates.parse_template({"Name": "t", "Steps": [TRIGGER, {
        "Id": "x", "Type": "Storage", "Operation": "Increment", "Key": "k", "Value": STATUS}]})


def test_a_step_script_that_does_not_parse_is_refused_at_its_line(db):
    mappings = [{"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
                {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}]
    script = "function before_action() {\n  method_request.name = ;\n}"
    assert checked(db, {**TRIGGER, "Next": "lead"}, {**LEAD, "FieldMappings": mappings, "Script": script}) == [
        Problem("$.Steps[1].Script", "the script does not parse: line 2: SyntaxError: Unexpected token ';'")]


def test_a_step_script_handler_misnamed_is_refused_naming_the_event(db):
    hook = {"Id": "event", "Type": "Webhook", "Connector": "Demo Leads", "Method": "lead-events",
            "Script": "function webhook_after() { return true; }"}
    assert checked(db, hook) == [Problem("$.Steps[0].Script", "function 'webhook_after' is not a script event, "
                                                              "so it never runs; did you mean 'after_webhook'?")]


def test_a_webhook_step_script_is_parsed_and_needs_its_connector(db):
    hook = {"Id": "event", "Type": "Webhook", "Connector": "Demo Leads", "Method": "lead-events",
            "Script": "function after_webhook() {\n  return (;\n}"}
    assert checked(db, hook) == [
        Problem("$.Steps[0].Script", "the script does not parse: line 2: SyntaxError: Unexpected token ';'")]
    with pytest.raises(Invalid) as raised:
        templates.parse_template({"Name": "t", "Steps": [{"Id": "event", "Type": "Webhook", "Script": "//"}]})
    assert [p.path for p in raised.value.problems] == ["$.Steps[0]"]
    assert "name a Connector and Method" in raised.value.problems[0].message
