"""A template's step graph: every exit names a step, no loops, every step reachable from the trigger."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from connectors import Problem
from store import connectors, templates
from store.database import make_engine
from store.problems import Invalid
from store.tables import Template
from store.template_spec import MAX_STEPS, DecisionStep, MethodStep, TemplateSpec
from store.templates import graph_problems
from tests.walkthrough import catalog_document


def template(*steps: tuple[str, str | None]) -> TemplateSpec:
    """A template of (id, Next) steps; the first is the trigger."""
    return TemplateSpec(Name="t", Steps=[
        MethodStep(Id=step_id, Connector="Demo CRM", Method="m", Next=next_step) for step_id, next_step in steps
    ])


def test_a_single_step_is_valid():
    assert graph_problems(template(("contacts", None))) == []


def test_a_chain_is_valid():
    assert graph_problems(template(("contacts", "lead"), ("lead", "note"), ("note", None))) == []


def test_steps_out_of_order_are_valid_when_the_chain_reaches_them():
    assert graph_problems(template(("contacts", "note"), ("lead", None), ("note", "lead"))) == []


def test_a_step_naming_itself_is_a_loop():
    assert graph_problems(template(("contacts", "lead"), ("lead", "lead"))) == [
        Problem("$.Steps[1].Next", "step 'lead' is reachable from itself (lead → lead)"),
    ]


def test_a_loop_is_named_once_from_its_first_step_at_the_exit_that_closes_it():
    problems = graph_problems(template(("contacts", "lead"), ("lead", "note"), ("note", "lead")))
    assert problems == [Problem("$.Steps[2].Next", "step 'lead' is reachable from itself (lead → note → lead)")]


def test_an_exit_back_to_the_trigger_is_a_loop():
    problems = graph_problems(template(("contacts", "lead"), ("lead", "contacts")))
    assert problems == [
        Problem("$.Steps[1].Next", "step 'contacts' is reachable from itself (contacts → lead → contacts)"),
    ]


def test_each_loop_is_reported_and_a_long_one_is_named_in_short():
    steps = [("s0", "a0")] + [(f"a{i}", f"a{i + 1}") for i in range(29)] + [("a29", "a0")]
    problems = graph_problems(template(*steps, ("b", "b")))
    assert problems == [
        Problem("$.Steps[30].Next", "step 'a0' is reachable from itself (a0 → a1 → a2 → a3 → a4 → … 21 more … → "
                                    "a26 → a27 → a28 → a29 → a0)"),
        Problem("$.Steps[31].Next", "step 'b' is reachable from itself (b → b)"),
        Problem("$.Steps[31].Id", "step 'b' cannot be reached from the trigger step 's0'"),
    ]


def test_the_loop_named_is_the_shortest_way_back_from_its_first_step():
    spec = TemplateSpec(Name="t", Steps=[
        MethodStep(Id="contacts", Connector="Demo CRM", Method="m", Next="d"),
        DecisionStep(Id="d", Type="Decision", Condition={"Left": {"MappingType": "StaticValue", "Value": "x"},
                                                         "Operator": "Exists"}, TrueNext="long", FalseNext="d"),
        MethodStep(Id="long", Connector="Demo CRM", Method="m", Next="d"),
    ])
    assert graph_problems(spec) == [Problem("$.Steps[1].FalseNext", "step 'd' is reachable from itself (d → d)")]


def test_a_chain_far_longer_than_the_recursion_limit_is_walked():
    count = MAX_STEPS  # as many as a template may have: a recursive walk would stop at Python's limit
    steps = [(f"s{i}", f"s{i + 1}" if i + 1 < count else None) for i in range(count)]
    assert graph_problems(template(*steps)) == []
    assert graph_problems(template(*steps[:-1], (f"s{count - 1}", "s0")))[0].path == f"$.Steps[{count - 1}].Next"


def test_a_dangling_next():
    assert graph_problems(template(("contacts", "lead"), ("lead", "nowhere"))) == [
        Problem("$.Steps[1].Next", "no step has the id 'nowhere'"),
    ]


def test_an_unreachable_step():
    problems = graph_problems(template(("contacts", "lead"), ("lead", None), ("note", "lead"), ("x", None)))
    assert problems == [
        Problem("$.Steps[2].Id", "step 'note' cannot be reached from the trigger step 'contacts'"),
        Problem("$.Steps[3].Id", "step 'x' cannot be reached from the trigger step 'contacts'"),
    ]


def test_every_problem_is_reported_together():
    problems = graph_problems(template(("contacts", "nowhere"), ("lead", "lead")))
    assert problems == [
        Problem("$.Steps[0].Next", "no step has the id 'nowhere'"),
        Problem("$.Steps[1].Next", "step 'lead' is reachable from itself (lead → lead)"),
        Problem("$.Steps[1].Id", "step 'lead' cannot be reached from the trigger step 'contacts'"),
    ]


def test_duplicate_ids_are_reported_before_the_graph_is_walked():
    assert graph_problems(template(("contacts", "lead"), ("lead", None), ("lead", "lead"))) == [
        Problem("$.Steps[1].Id", "step id 'lead' is used more than once"),
        Problem("$.Steps[2].Id", "step id 'lead' is used more than once"),
    ]


def test_check_and_create_report_graph_problems_with_the_rest_and_store_nothing(tmp_path):
    with Session(make_engine(f"sqlite:///{tmp_path / 'store.db'}")) as db:
        connectors.upload(db, catalog_document("connectors", "demo-crm.json"))
        connectors.upload(db, catalog_document("connectors", "demo-leads.json"))
        document = catalog_document("templates", "crm-contacts-to-leads.json")
        document["Steps"][1]["Next"] = "lead"
        document["Steps"][1]["Method"] = "delete-everything"
        expected = [
            Problem("$.Steps[1].Next", "step 'lead' is reachable from itself (lead → lead)"),
            Problem("$.Steps[1].Method", "connector 'Demo Leads' has no method 'delete-everything'"),
        ]
        assert templates.check(db, templates.parse_template(document)) == expected
        with pytest.raises(Invalid) as raised:
            templates.create(db, templates.parse_template(document))
        assert raised.value.problems == expected
        assert db.exec(select(Template)).all() == []
