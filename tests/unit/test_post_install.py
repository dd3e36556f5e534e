"""The post-install lookup in the connector format: what it fills, and what is refused at upload."""

from __future__ import annotations

import copy

import pytest

from connectors import ConnectorInvalid, Problem, parse_connector
from connectors.post_install import LookupIncomplete, fills_properties, token_properties
from tests.e2e.test_post_install import CONNECTOR


def test_a_consents_token_response_fills_the_properties_its_fields_name():
    connector = parse_connector(CONNECTOR)
    auth = connector.default_authentication()
    assert fills_properties(connector, auth)
    body = {"access_token": "t", "instance_url": "https://eu12.example.com", "id": "https://login/id/1"}
    assert token_properties(connector, auth, body) == {"InstanceUrl": "https://eu12.example.com"}
    with pytest.raises(LookupIncomplete, match="the token response has no value for InstanceUrl"):
        token_properties(connector, auth, {"access_token": "t"})


def test_nothing_is_looked_up_for_a_connector_that_names_no_lookup():
    document = copy.deepcopy(CONNECTOR)
    del document["PostInstallLookupMethod"], document["Authentication"][0]["TokenResponseFields"]
    connector = parse_connector(document)
    assert not fills_properties(connector, connector.default_authentication())


def test_a_lookup_that_would_fill_nothing_or_no_property_is_refused_at_upload():
    document = copy.deepcopy(CONNECTOR)
    document["PostInstallLookupMethod"] = "list-contacts"
    document["Authentication"][0]["TokenResponseFields"] = [
        {"ConnectorField": "instance_url", "SystemField": "Instance"},
        {"ConnectorField": "a..b", "SystemField": "InstanceUrl"}]
    document["Authentication"].append({"Name": "Key", "AuthType": "ApiKey", "ApiKeyName": "X-Key",
                                       "TokenResponseFields": [{"ConnectorField": "x", "SystemField": "PortalId"}]})
    with pytest.raises(ConnectorInvalid) as refused:
        parse_connector(document)
    hint = "(a connector Parameter with IsAccountConnectorProperty)"
    assert refused.value.problems == [
        Problem("$.PostInstallLookupMethod", "method 'list-contacts' has no response field whose SystemField is an "
                                             f"account connector property {hint}: it would fill nothing"),
        Problem("$.Authentication[0].TokenResponseFields[0].SystemField",
                f"'Instance' is not an account connector property {hint}"),
        Problem("$.Authentication[0].TokenResponseFields[1].ConnectorField", "'a..b' is not a valid field path"),
        Problem("$.Authentication[1].TokenResponseFields",
                "only an OAuth2 AuthorisationCode authentication has a consent's token response"),
    ]
    document = copy.deepcopy(CONNECTOR) | {"PostInstallLookupMethod": "who-am-i"}
    with pytest.raises(ConnectorInvalid) as refused:
        parse_connector(document)
    assert refused.value.problems == [Problem("$.PostInstallLookupMethod",
                                              "no method has the UniqueIdentifier 'who-am-i'")]
