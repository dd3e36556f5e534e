"""Vendors' whole documents import usefully (issue 17): GitHub's, Stripe's and Xero's, from the npm
packages that ship them (tests/vendor_specs.py; skipped, saying which to install, without them)."""

from __future__ import annotations

import pytest

from connectors import parse_connector
from connectors.openapi import MAX_DEPTH, Options, import_openapi, load
from tests import vendor_specs
from tests.vendor_specs import GITHUB, STRIPE, XERO


def imported(spec, options: Options | None = None):
    if why := vendor_specs.missing(spec):
        pytest.skip(why)
    result = import_openapi(load(vendor_specs.path(spec).read_bytes()), options or Options())
    return result, parse_connector(result.document)


def fields(fields) -> set[str]:
    return {f.ConnectorField for f in fields}


def test_github_gets_a_base_url_and_the_authentication_chosen():
    _result, connector = imported(GITHUB, Options(authentication={"AuthType": "Bearer"}))
    assert len(connector.Methods) > 1_000
    assert connector.property_values({})["BaseUrl"] == "https://api.github.com"
    assert [(a.AuthType, a.IsDefault) for a in connector.Authentication] == [("Bearer", True)]
    assert connector.method("users-get-authenticated").Endpoint == "{{BaseUrl}}/user"


def test_stripes_customers_have_their_fields():
    _result, connector = imported(STRIPE)
    create = connector.method("PostCustomers")
    assert create.DataType == "Form"
    assert {"email", "name", "address.city", "address.postal_code", "invoice_settings.footer"} <= fields(
        create.request_fields)
    read = fields(connector.method("GetCustomersCustomer").response_fields)
    assert {"id", "object", "email", "name", "address.city", "balance", "deleted", "test_clock"} <= read


@pytest.mark.parametrize("spec", [STRIPE, XERO], ids=["Stripe", "Xero"])
def test_nesting_goes_as_deep_as_the_documents_do(spec):
    result, connector = imported(spec)
    assert not any("nested deeper" in p.message for p in result.skipped)
    deepest = max(f.ConnectorField.count(".") + 1 for m in connector.Methods
                  for f in (*m.request_fields, *m.response_fields))
    assert 6 <= deepest <= MAX_DEPTH  # six was the bound before; Stripe's go to 11
