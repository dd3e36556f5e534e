"""A Decision's Matches pattern read from a variable: refused when the variable is set to what
RE2 does not take (naming the step), and a prerequisite when it was set before the cycle was."""

from __future__ import annotations

import pytest

from store import connectors, cycles, templates, variables
from store.problems import Invalid
from store.tables import Account
from tests.walkthrough import catalog_document

PATTERN = {"MappingType": "Variable", "Variable": "Wanted"}


def install(db, account_id: str, right: dict = PATTERN) -> str:
    document = catalog_document("templates", "crm-contacts-to-leads.json")
    document["Name"] = f"matches {right.get('Variable')}"
    document["Steps"][0]["Next"] = "wanted?"
    document["Steps"].insert(1, {"Id": "wanted?", "Type": "Decision", "TrueNext": "lead", "Condition": {
        "Left": {"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
        "Operator": "Matches", "Right": right}})
    return cycles.install(db, templates.create(db, templates.parse_template(document)), account_id, None, {}).id


@pytest.fixture
def account(db) -> str:
    for name in ("demo-crm.json", "demo-leads.json"):
        connectors.upload(db, catalog_document("connectors", name))
    row = Account(name="Acme")
    db.add(row)
    db.commit()
    return row.id


def test_a_variable_a_decision_matches_by_takes_only_a_pattern_re2_accepts(db, account):
    cycle = install(db, account)
    for owner in (cycle, account):
        with pytest.raises(Invalid) as refused:
            variables.put(db, owner, "Wanted", "(?=lookahead)")
        (problem,) = refused.value.problems
        assert problem.path == "$.Value"
        assert "variable 'Wanted' is the Matches pattern of step 'wanted?'" in problem.message
        assert "invalid perl operator: (?=" in problem.message
    assert variables.resolve(db, cycle, account) == {}  # nothing saved
    variables.put(db, account, "Wanted", "@example\\.com$")
    variables.put(db, account, "Other", "(?=not a pattern, and no Decision reads it)")
    assert variables.resolve(db, cycle, account)["Wanted"] == "@example\\.com$"


def test_an_account_variable_a_cycle_overrides_is_not_that_cycles_pattern(db, account):
    cycle = install(db, account)
    variables.put(db, cycle, "Wanted", "^a")
    variables.put(db, account, "Wanted", "(")  # no cycle of the account reads it
    with pytest.raises(Invalid):
        variables.put(db, cycle, "Wanted", "(")


def test_a_pattern_set_before_the_cycle_was_installed_blocks_activation(db, account):
    variables.put(db, account, "Wanted", "(")
    cycle = db.get(cycles.Cycle, install(db, account))
    invalid = [p for p in cycles.prerequisites(db, cycle) if p.reason == "InvalidPattern"]
    assert [p.message for p in invalid] == [(
        "step 'wanted?': variable 'Wanted', its Matches pattern: not a regular expression RE2 accepts: "
        "missing ): ( (RE2 has no lookaround and no backreferences)")]
