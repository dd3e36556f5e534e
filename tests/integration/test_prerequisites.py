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
