"""Acceptance (issue 17, point 10): every catalog connector's every method, called through the
engine against prism mocking the vendor's own OpenAPI document (cut to the operations the
connector calls), sends requests that document accepts: prism reports no violation."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors import ConnectorError, Credentials, call_method
from connectors.catalog import entries
from connectors.oauth import Token
from connectors.transport import Request
from tests.conftest import DATA_DIR
from tests.contract import samples
from tests.contract.prism import Prism, client
from tests.contract.specs import SOURCES, UNDOCUMENTED, cut, document, operations

WEBHOOK_URL = "https://hooks.example.com/cycle/1"
# Where a vendor's document is wrong about its API, prism's answer is wrong with it: each such
# method is expected to fail, naming how (strict: it fails the run once the document is right).
DOCUMENT_DEFECTS = {
    ("slack", m): "Slack's document requires a 'token' header or query parameter, which Slack's API takes in "
                  "'Authorization: Bearer' instead (as the connector sends it)"
    for m in ("auth-test", "post-message", "update-message", "get-user")
}

# The authentication a contract call uses where not the default: GitLab's v3 document names its
# token header PRIVATE_HEADER (GitLab's is PRIVATE-TOKEN), so only its query parameter matches.
AUTHENTICATION = {"gitlab": "Personal access token (query)"}


class FixedToken:
    """An account connector's OAuth token store holding one token, as after the consent."""

    async def current(self) -> Token:
        return Token("test-oauth-token")

    async def replace(self, stale, obtain):  # a fresh token never needs replacing
        raise AssertionError("the token was refreshed")

    async def needs_reauthentication(self, reason: str) -> None:
        raise AssertionError(reason)


@pytest.fixture(scope="module")
def mocks() -> Iterator[dict[str, Prism]]:
    """One prism per vendor document, started when a test first asks for it."""
    started: dict[str, Prism] = {}

    def mock(vendor: str) -> Prism:
        if vendor not in started:
            source, prefix = SOURCES[vendor]
            spec = document(source)
            kept = {op for op in operations(spec, entries()[vendor].connector, prefix).values() if op}
            path = DATA_DIR / f"{vendor}-cut.json"
            path.write_text(json.dumps(cut(spec, kept)))
            started[vendor] = Prism(path, vendor).__enter__()
        return started[vendor]

    yield mock
    for prism in started.values():
        prism.__exit__()


def auth_value(connector, authentication: str | None) -> str:
    """Credentials of the kind the authentication takes (Basic: base64 of user:password)."""
    if connector.authentication(authentication).AuthType == "Basic":
        return base64.b64encode(b"someone@example.com:test-token").decode()
    return "test-token"


def inputs(vendor: str, method_id: str) -> dict[str, Any]:
    """What a call of the method sends: a value for each path parameter, required query parameter
    and request field, from the vendor document's examples (or its types)."""
    source, prefix = SOURCES[vendor]
    spec = document(source)
    connector = entries()[vendor].connector
    method = connector.method(method_id)
    verb, route = operations(spec, connector, prefix)[method_id]
    values = samples.path_values(spec, verb, route, method.Endpoint)
    mergefields = {"Webhook_Url": WEBHOOK_URL} | {k: v for k, v in values.items() if k.startswith("Webhook_")}
    parameters = {k: v for k, v in values.items() if not k.startswith("Webhook_")}
    declared = {p.get("name"): p for p in samples.parameters(spec, verb, route) if p.get("in") == "query"}
    for param in method.Parameters:
        if param.TargetType == "QueryString" and not param.IsOptional and not param.Hide and param.TargetName in declared:
            parameters[param.key] = samples.text(samples.sample(spec, samples.parameter_schema(spec, declared[param.TargetName])))
    schema = samples.body_schema(spec, verb, route)
    fields = {}
    for f in method.request_fields:
        if f.DefaultValue is not None:
            continue  # the connector's own value (such as {{Webhook_Url}})
        found = samples.field_schema(spec, schema, f.ConnectorField) if schema else None
        fields[f.SystemField] = samples.sample(spec, found) if found is not None else "example"
    return {"parameters": parameters, "fields": fields, "mergefields": mergefields}


def catalog_methods() -> Iterator[Any]:
    for vendor, entry in entries().items():
        for method in entry.connector.Methods:
            if method.MethodType == "Action" and method.UniqueIdentifier not in UNDOCUMENTED.get(vendor, ()):
                defect = DOCUMENT_DEFECTS.get((vendor, method.UniqueIdentifier))
                marks = [pytest.mark.xfail(reason=defect, strict=True)] if defect else []
                yield pytest.param(vendor, method.UniqueIdentifier, id=f"{vendor}:{method.UniqueIdentifier}", marks=marks)


def test_every_catalog_method_calls_an_operation_of_its_vendors_document():
    for vendor, entry in entries().items():
        source, prefix = SOURCES[vendor]
        missing = {m for m, op in operations(document(source), entry.connector, prefix).items() if op is None}
        assert missing == UNDOCUMENTED.get(vendor, set()), f"{vendor}: no operation in {source} for {missing}"


@pytest.mark.parametrize(("vendor", "method_id"), catalog_methods())
async def test_the_vendors_document_accepts_what_the_method_sends(mocks, vendor, method_id):
    prism = mocks(vendor)
    _, prefix = SOURCES[vendor]
    connector = entries()[vendor].connector
    given = inputs(vendor, method_id)
    seen_before = len(prism.seen)
    sent: list[Request] = []
    async with client(sent=sent.append, answered=prism.record) as http:
        try:
            result = await call_method(http, connector, method_id, credentials=Credentials(
                auth_value(connector, AUTHENTICATION.get(vendor)), {"BaseUrl": prism.url + prefix}),
                authentication=AUTHENTICATION.get(vendor), tokens=FixedToken(), **given)
            status = result.status
        except ConnectorError as err:
            status, error = err.status, err
    if status is None:
        raise error
    assert sent, "nothing was sent"
    violations = prism.seen[seen_before:]
    assert not violations, "\n".join(map(str, violations))
    assert status is not None and status < 300 or status == 500, f"prism answered {status}"
