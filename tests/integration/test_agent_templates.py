"""Which cycles are an account's template tools, and the fields their input names
(store/agent_templates.py)."""

from __future__ import annotations

import pytest

from store import agent_templates, connectors, cycles, runs, templates
from store.problems import Invalid
from store.tables import Account, AccountConnector
from tests.walkthrough import catalog_document

TEMPLATE = {"Name": "Routed events", "Steps": [
    {"Id": "event", "Type": "Webhook", "Next": "decide"},
    {"Id": "decide", "Type": "Decision", "TrueNext": "lead", "Condition": {
        "Left": {"MappingType": "StepField", "SourceStep": "event", "SourceField": "kind"},
        "Operator": "Equals", "Right": {"MappingType": "StaticValue", "Value": "lead"}}},
    {"Id": "lead", "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
        {"Field": "Email", "MappingType": "StepField", "SourceStep": "event", "SourceField": "contact.email"},
        {"Field": "Name", "MappingType": "Expression", "Expression": "{{event.first}} {{event.last}}"},
        {"Field": "Source", "MappingType": "StaticValue", "Value": "hook"}]}]}


def _account_with(db, document: dict):
    leads, release = connectors.upload(db, catalog_document("connectors", "demo-leads.json"))
    account = Account(name="Agents")
    db.add(account)
    db.add(AccountConnector(account_id=account.id, connector_id=leads.id, release_id=release.id, name="leads"))
    db.commit()
    template = templates.create(db, templates.parse_template(document))
    return template, cycles.install(db, template, account.id, None, {})


def test_a_marked_templates_active_cycles_are_tools_reading_the_fields_its_mappings_read(db):
    template, cycle = _account_with(db, TEMPLATE)
    runs.save_cycle_status(db, cycle.id, "Active", "owner", 1)
    assert agent_templates.callable_cycles(db, cycle.account_id) == []  # not marked: nothing by default
    agent_templates.mark(db, template, True)
    [found] = agent_templates.callable_cycles(db, cycle.account_id)
    assert (found.cycle.id, found.trigger.template_step_id) == (cycle.id, "event")
    assert found.fields == ["contact", "first", "last", "kind"]  # mappings by field, then the Decision's
    assert agent_templates.callable_cycles(db, "another account") == []
    runs.save_cycle_status(db, cycle.id, "Paused", "owner", 2)
    assert agent_templates.callable_cycles(db, cycle.account_id) == []  # not active


def test_only_a_webhook_triggered_template_can_be_marked(db):
    polled = {"Name": "Polled", "Steps": [{"Id": "lead", "Connector": "Demo Leads", "Method": "create-lead",
                                           "FieldMappings": [{"Field": "Email", "MappingType": "StaticValue",
                                                              "Value": "a@example.com"}]}]}
    template, _ = _account_with(db, polled)
    with pytest.raises(Invalid) as refused:
        agent_templates.mark(db, template, True)
    [problem] = refused.value.problems
    assert problem.path == "$.Callable" and "'lead') is a Method step" in problem.message
    db.refresh(template)
    assert not template.agent_callable
