"""A URL parameter nothing fills is a prerequisite, not an error on every call."""

from __future__ import annotations

from store import connectors, cycles, templates
from store.crypto import encrypt
from store.tables import Account, AccountConnector
from store.template_spec import MappingSpec

CONNECTOR = {"Name": "Orders API", "Authentication": [{"AuthType": "Bearer"}], "Methods": [
    {"UniqueIdentifier": "customer-orders", "Name": "Customer orders", "HttpMethod": "Get",
     "Endpoint": "https://orders.example.com/customers/{{CustomerId}}/orders",
     "Parameters": [{"Name": "CustomerId", "TargetType": "MergeField"}],
     "ResponseFormat": {"Fields": [{"ConnectorField": "[].id", "SystemField": "Id"}]}}]}
TEMPLATE = {"Name": "orders", "Steps": [{"Id": "orders", "Connector": "Orders API", "Method": "customer-orders"}]}


def test_a_url_parameter_without_a_mapping_blocks_activation(db):
    connector, release = connectors.upload(db, CONNECTOR)
    account = Account(name="Acme")
    db.add(account)
    db.add(AccountConnector(account_id=account.id, connector_id=connector.id, release_id=release.id, name="orders",
                            auth_value=encrypt("token"), authenticated=True))
    db.commit()
    cycle = cycles.install(db, templates.create(db, templates.parse_template(TEMPLATE)), account.id, None, {})
    (missing,) = cycles.prerequisites(db, cycle)
    assert missing.reason == "MissingMapping" and "parameter 'CustomerId'" in missing.message

    step = cycles.steps(db, cycle.id)[0]
    cycles.set_mapping(db, step, "CustomerId", MappingSpec(MappingType="StaticValue", Value="c42"))
    assert cycles.prerequisites(db, cycle) == []


REQUIRED = {"Name": "Media API", "Authentication": [{"AuthType": "Bearer"}], "Methods": [
    {"UniqueIdentifier": "media", "Name": "Media", "HttpMethod": "Get",
     "Endpoint": "https://media.example.com/media/{{media_id}}",
     "Parameters": [{"Name": "media_id", "TargetType": "MergeField"},
                    {"TargetType": "QueryString", "TargetName": "fields"},
                    {"TargetType": "HttpHeader", "TargetName": "X-Api-Version"},
                    {"TargetType": "QueryString", "TargetName": "limit", "IsOptional": True},
                    {"TargetType": "QueryString", "TargetName": "sort", "DefaultValue": "asc"}],
     "ResponseFormat": {"Fields": [{"ConnectorField": "id", "SystemField": "Id"}]}}]}


def test_required_path_query_and_header_parameters_are_prerequisites(db):
    connector, release = connectors.upload(db, REQUIRED)
    account = Account(name="Media")
    db.add(account)
    db.add(AccountConnector(account_id=account.id, connector_id=connector.id, release_id=release.id, name="media",
                            auth_value=encrypt("token"), authenticated=True))
    db.commit()
    template = {"Name": "media", "Steps": [{"Id": "media", "Connector": "Media API", "Method": "media"}]}
    cycle = cycles.install(db, templates.create(db, templates.parse_template(template)), account.id, None, {})
    assert [(p.reason, p.message) for p in cycles.prerequisites(db, cycle)] == [
        ("MissingMapping", "step 'media': required path parameter 'media_id' has no mapping"),
        ("MissingMapping", "step 'media': required query parameter 'fields' has no mapping"),
        ("MissingMapping", "step 'media': required header parameter 'X-Api-Version' has no mapping")]

    step = cycles.steps(db, cycle.id)[0]
    for name in ("media_id", "fields", "X-Api-Version"):
        cycles.set_mapping(db, step, name, MappingSpec(MappingType="StaticValue", Value="v"))
    assert cycles.prerequisites(db, cycle) == []  # optional and defaulted ones never were
