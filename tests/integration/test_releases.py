"""Connector releases in the store: uploads, publishing, what an upgrade would break, deletion."""

from __future__ import annotations

import copy

import pytest

from connectors import Problem
from connectors.mergefields import rename_field
from store import connectors, cycles, releases, templates
from store.problems import Conflict, Forbidden, Invalid
from store.tables import Account, AccountConnector, ConnectorRelease, Cycle, OAuthState
from store.template_spec import MappingSpec
from store.upgrades import MappingChanges, MappingDelete, MappingSet, Rename

SHOP = {
    "Name": "Shop", "Version": "1",
    "Authentication": [{"Name": "Key", "AuthType": "ApiKey", "ApiKeyLocation": "Header", "ApiKeyName": "X-Key"}],
    "Methods": [
        {"UniqueIdentifier": "list-items", "Name": "List items", "HttpMethod": "Get",
         "Endpoint": "https://shop.example/items", "ResponseFormat": {"Fields": [
             {"ConnectorField": "[items].id", "SystemField": "Id"},
             {"ConnectorField": "[items].name", "SystemField": "Name"},
             {"ConnectorField": "[items].price", "SystemField": "Price"}]}},
        {"UniqueIdentifier": "create-note", "Name": "Create note", "HttpMethod": "Post",
         "Endpoint": "https://shop.example/notes", "RequestFormat": {"Fields": [
             {"ConnectorField": "title", "SystemField": "Title"},
             {"ConnectorField": "body", "SystemField": "Body", "IsOptional": True}]}},
        {"UniqueIdentifier": "ping", "Name": "Ping", "HttpMethod": "Get", "Endpoint": "https://shop.example/ping"},
    ],
}

TEMPLATE = {"Name": "Items to notes", "Steps": [
    {"Id": "items", "Connector": "Shop", "Method": "list-items", "Next": "named?"},
    {"Id": "named?", "Type": "Decision", "TrueNext": "note",
     "Condition": {"Left": {"MappingType": "StepField", "SourceStep": "items", "SourceField": "Name"},
                   "Operator": "Exists"}},
    {"Id": "note", "Connector": "Shop", "Method": "create-note", "FieldMappings": [
        {"Field": "Title", "MappingType": "StepField", "SourceStep": "items", "SourceField": "Name"},
        {"Field": "Body", "MappingType": "Expression", "Expression": "costs {{items.Price}}"}]},
]}


def release(version: str, edit=lambda methods: None) -> dict:
    document = copy.deepcopy(SHOP) | {"Version": version}
    edit({m["UniqueIdentifier"]: m for m in document["Methods"]})
    return document


def without_response_field(name: str):
    def edit(methods: dict) -> None:
        fields = methods["list-items"]["ResponseFormat"]["Fields"]
        fields[:] = [f for f in fields if f["SystemField"] != name]
    return edit


def installed(db, account_name: str = "Acme"):
    account = Account(name=account_name)
    db.add(account)
    db.commit()
    template = templates.create(db, templates.parse_template(TEMPLATE))
    return account, cycles.install(db, template, account.id, None, {})


def release_ids(db, cycle) -> set[str]:
    return {s.release_id for s in cycles.steps(db, cycle.id) if s.release_id}


def test_uploads_make_a_live_release_then_replace_one_draft(db):
    shop, first = connectors.upload(db, release("1"))
    assert first.status == "Live"
    _, draft = connectors.upload(db, release("2"))
    _, again = connectors.upload(db, release("2", without_response_field("Price")))
    assert draft.status == again.status == "Draft" and again.id != draft.id  # an upload is a release of its own
    assert [(r.version, r.status) for r in connectors.releases(db, shop.id)] == [("1", "Live"), ("2", "Draft")]
    assert db.get(ConnectorRelease, draft.id) is None

    imported, only = connectors.upload(db, release("1") | {"Name": "Imported"}, draft=True)
    assert only.status == "Draft" and connectors.live_release(db, imported.id) is None
    assert connectors.release_by_name(db, "Imported", "1") is None  # nothing binds to a Draft
    assert releases.publish(db, imported, major=False).status == "Live"


def test_publish_needs_a_draft_of_a_new_version(db):
    shop, _ = connectors.upload(db, release("1"))
    with pytest.raises(Conflict, match="no Draft"):
        releases.publish(db, shop, major=False)
    connectors.upload(db, release("1"))  # uploading the same file again: a Draft of version 1
    with pytest.raises(Conflict, match="Live release 1 already") as refused:
        releases.publish(db, shop, major=False)
    assert refused.value.problems == [Problem("$.Version", "version 1 is taken")]
    assert connectors.release_by_name(db, "Shop", "1").status == "Live"


def test_a_minor_publish_moves_steps_and_account_connectors(db):
    shop, first = connectors.upload(db, release("1"))
    account, cycle = installed(db)
    oauth_less = AccountConnector(account_id=account.id, connector_id=shop.id, release_id=first.id, name="Shop")
    gone = AccountConnector(account_id=account.id, connector_id=shop.id, release_id=first.id, name="Shop (old auth)",
                            authentication="Legacy")
    db.add_all([oauth_less, gone])
    db.commit()
    connectors.upload(db, release("2"))
    second = releases.publish(db, shop, major=False)
    assert release_ids(db, cycle) == {second.id}
    assert db.get(ConnectorRelease, first.id).status == "Deprecated"
    assert oauth_less.release_id == second.id
    assert gone.release_id == first.id  # release 2 has no 'Legacy' entry: it stays where it works
    assert releases.moves(db, [cycle.id]) == {}


def test_a_major_publish_flags_cycles_and_an_upgrade_lists_what_breaks(db):
    shop, first = connectors.upload(db, release("1"))
    _, cycle = installed(db)
    steps = {s.template_step_id: s.id for s in cycles.steps(db, cycle.id)}

    def gone(methods: dict) -> None:
        without_response_field("Name")(methods)
        without_response_field("Price")(methods)
        del methods["create-note"]["RequestFormat"]["Fields"][0]  # Title
    connectors.upload(db, release("2", gone))
    second = releases.publish(db, shop, major=True)
    assert release_ids(db, cycle) == {first.id}  # the steps stay
    pending = releases.moves(db, [cycle.id])[cycle.id]
    assert [(m.step.template_step_id, m.connector, m.source.version, m.target.version) for m in pending] == [
        ("items", "Shop", "1", "2"), ("note", "Shop", "1", "2")]

    with pytest.raises(Invalid) as refused:
        releases.upgrade(db, cycle)
    assert set(refused.value.problems) == {
        Problem(f"steps/{steps['named?']}/Condition.Left.SourceField", "step 'items' gives no field 'Name'"),
        Problem(f"steps/{steps['note']}/fieldmappings/Body.Expression", "step 'items' gives no field 'Price'"),
        Problem(f"steps/{steps['note']}/fieldmappings/Title.Field", "method 'create-note' has no field 'Title'"),
        Problem(f"steps/{steps['note']}/fieldmappings/Title.SourceField", "step 'items' gives no field 'Name'"),
    }
    assert release_ids(db, cycle) == {first.id}  # nothing moved

    # A removed method is a break of its own.
    third = release("3")
    third["Methods"] = [m for m in third["Methods"] if m["UniqueIdentifier"] != "create-note"]
    connectors.upload(db, third)
    releases.publish(db, shop, major=True)
    with pytest.raises(Invalid) as refused:
        releases.upgrade(db, cycle)
    assert Problem(f"steps/{steps['note']}.Method", "release 3 of 'Shop' has no method 'create-note'") \
        in refused.value.problems
    assert second.id not in release_ids(db, cycle)


def test_an_upgrade_moves_a_cycle_whose_mappings_fit(db):
    shop, _ = connectors.upload(db, release("1"))
    _, cycle = installed(db)
    connectors.upload(db, release("2", without_response_field("Price")))
    second = releases.publish(db, shop, major=True)
    note = next(s for s in cycles.steps(db, cycle.id) if s.template_step_id == "note")
    with pytest.raises(Invalid):
        releases.upgrade(db, cycle)
    # Release 1 still has Price: a mapping is checked against the release its step is on.
    cycles.set_mapping(db, note, "Body", MappingSpec(MappingType="Expression", Expression="{{items.Price}}!"))
    assert cycles.delete_mapping(db, note, "Body") and not cycles.delete_mapping(db, note, "Body")
    moved = releases.upgrade(db, cycle)
    assert {m.step.template_step_id for m in moved} == {"items", "note"}
    assert release_ids(db, cycle) == {second.id} and releases.moves(db, [cycle.id]) == {}


def test_a_minor_publish_that_breaks_a_cycle_is_refused(db):
    shop, first = connectors.upload(db, release("1"))
    _, cycle = installed(db)
    connectors.upload(db, release("2", without_response_field("Name")))
    with pytest.raises(Invalid) as refused:
        releases.publish(db, shop, major=False)
    assert all(p.path.startswith(f"cycles/{cycle.id}/steps/") for p in refused.value.problems)
    db.rollback()
    assert connectors.live_release(db, shop.id).id == first.id and release_ids(db, cycle) == {first.id}


def test_a_connector_in_use_cannot_be_deleted(db):
    shop, first = connectors.upload(db, release("1"))
    account, cycle = installed(db)
    unused, _ = connectors.upload(db, release("1") | {"Name": "Unused"})
    for connector in (shop, unused):
        row = AccountConnector(account_id=account.id, connector_id=connector.id,
                               release_id=connectors.live_release(db, connector.id).id, name=connector.name)
        db.add(row)
        db.add(OAuthState(state=row.id, account_connector_id=row.id, code_verifier="x", target_origin="x",
                          expires_at=first.created_at))
    db.commit()

    with pytest.raises(Conflict) as refused:
        connectors.delete_connector(db, shop)
    assert refused.value.problems == [Problem(f"cycles/{cycle.id}", "cycle 'Items to notes' uses it")]
    connectors.delete_connector(db, unused)
    assert connectors.release_by_name(db, "Unused") is None
    assert db.query(AccountConnector).filter_by(connector_id=unused.id).count() == 0



def renaming(methods: dict) -> None:
    """Release 2 of the shop: items' Name is Label and Price is Cost; a note's Title is Heading,
    its Body is gone and it needs a Priority."""
    for field in methods["list-items"]["ResponseFormat"]["Fields"]:
        field["SystemField"] = {"Name": "Label", "Price": "Cost"}.get(field["SystemField"], field["SystemField"])
    methods["create-note"]["RequestFormat"]["Fields"] = [
        {"ConnectorField": "title", "SystemField": "Heading"}, {"ConnectorField": "priority", "SystemField": "Priority"}]


def renamed_cycle(db):
    shop, first = connectors.upload(db, release("1"))
    _, cycle = installed(db)
    connectors.upload(db, release("2", renaming))
    second = releases.publish(db, shop, major=True)
    steps = {s.template_step_id: s for s in cycles.steps(db, cycle.id)}
    return cycle, steps, first, second


def documents(db, cycle) -> dict:
    """Each step's mappings as stored: field mappings by field, and a Decision's condition."""
    return {s.template_step_id: {m.field: m.mapping for m in cycles.mappings(db, s.id)} or s.document.get("Condition")
            for s in cycles.steps(db, cycle.id)}


def test_an_upgrade_renames_fields_everywhere_the_cycle_names_them_with_the_move(db):
    cycle, steps, _, second = renamed_cycle(db)
    before = documents(db, cycle)
    with pytest.raises(Invalid):  # without the renames, every mapping of a renamed field breaks
        releases.upgrade(db, cycle)

    items, note = steps["items"].id, steps["note"].id
    moved = releases.upgrade(db, cycle, MappingChanges(
        renames=[Rename(items, "Name", "Label"), Rename(items, "Price", "Cost"), Rename(note, "Title", "Heading")],
        sets=[MappingSet(note, "Priority", MappingSpec(MappingType="StaticValue", Value="high"))],
        deletes=[MappingDelete(note, "Body")]))
    assert {m.step.template_step_id for m in moved} == {"items", "note"}
    db.expire_all()
    assert release_ids(db, cycle) == {second.id}
    after = documents(db, cycle)
    assert after["named?"]["Left"] == {**before["named?"]["Left"], "SourceField": "Label"}
    assert after["note"] == {
        "Heading": {**before["note"]["Title"], "SourceField": "Label"},
        "Priority": {"MappingType": "StaticValue", "Value": "high", "UserConfigurable": False}}
    # Nothing is missing but the Shop's installation: every mapping fits release 2.
    assert {p.reason for p in cycles.prerequisites(db, db.get(Cycle, cycle.id))} == {"ConnectorNotInstalled"}


def test_an_expression_follows_a_renamed_field(db):
    cycle, steps, _, second = renamed_cycle(db)
    items, note = steps["items"].id, steps["note"].id
    releases.upgrade(db, cycle, MappingChanges(
        renames=[Rename(items, "Name", "Label"), Rename(items, "Price", "Cost"), Rename(note, "Title", "Heading"),
                 Rename(note, "Body", "Priority")]))
    assert documents(db, cycle)["note"]["Priority"]["Expression"] == "costs {{items.Cost}}"
    assert release_ids(db, cycle) == {second.id}


def test_renaming_a_field_in_an_expression_keeps_the_rest_of_it():
    assert rename_field("{{items.Price}} or {{ items.Price format=0.00 }}, not {{items.PriceList}} nor "
                        "{{other.Price}}", "items", "Price", "Cost") == \
        "{{items.Cost}} or {{ items.Cost format=0.00 }}, not {{items.PriceList}} nor {{other.Price}}"


def test_wrong_changes_are_named_and_change_nothing(db):
    cycle, steps, first, _ = renamed_cycle(db)
    before = documents(db, cycle)
    items, note = steps["items"].id, steps["note"].id
    with pytest.raises(Invalid) as refused:
        releases.upgrade(db, cycle, MappingChanges(
            renames=[Rename("nope", "Name", "Label"), Rename(items, "Nmae", "Label"), Rename(note, "Title", "Body")],
            sets=[MappingSet(steps["named?"].id, "Priority", MappingSpec(MappingType="StaticValue", Value="x"))],
            deletes=[MappingDelete(note, "Fax")]))
    assert refused.value.problems == [
        Problem("$.Renames[0].StepId", "the cycle has no step 'nope'"),
        Problem("$.Renames[1].From", "nothing in the cycle maps or reads field 'Nmae' of step 'items'"),
        Problem("$.Renames[2].To", "step 'note' maps 'Body' already"),
        Problem("$.DeleteFieldMappings[0].Field", "step 'note' has no mapping of 'Fax'"),
        Problem("$.FieldMappings[0].StepId", "step 'named?' is a Decision: only Method steps have field mappings"),
    ]
    # Changes that fit but leave a break: the break is named, and still nothing changes.
    with pytest.raises(Invalid) as refused:
        releases.upgrade(db, cycle, MappingChanges(renames=[Rename(items, "Name", "Label")]))
    assert Problem(f"steps/{note}/fieldmappings/Title.Field", "method 'create-note' has no field 'Title'") \
        in refused.value.problems
    db.rollback()
    assert documents(db, cycle) == before and release_ids(db, cycle) == {first.id}


def test_a_rename_needs_a_step_that_moves_and_an_account_only_sets_its_own_mappings(db):
    connectors.upload(db, release("1"))
    _, cycle = installed(db)
    items = next(s.id for s in cycles.steps(db, cycle.id) if s.template_step_id == "items")
    note = next(s.id for s in cycles.steps(db, cycle.id) if s.template_step_id == "note")
    with pytest.raises(Invalid) as refused:  # nothing is on a Deprecated release
        releases.upgrade(db, cycle, MappingChanges(renames=[Rename(items, "Name", "Label")]))
    assert refused.value.problems == [Problem("$.Renames[0].StepId", "step 'items' stays on its release in this "
                                              "upgrade: only the fields of a step that moves to another release "
                                              "are renamed")]
    with pytest.raises(Forbidden):
        releases.upgrade(db, cycle, MappingChanges(deletes=[MappingDelete(note, "Body")], by_account=True))
    with pytest.raises(Forbidden):
        releases.upgrade(db, cycle, MappingChanges(by_account=True, sets=[
            MappingSet(note, "Body", MappingSpec(MappingType="StaticValue", Value="x"))]))
