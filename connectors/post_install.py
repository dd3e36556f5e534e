"""The post-install lookup (Cyclr's "post install property value lookup method"): account
connector properties filled from what the API answers once credentials are set, so that later
calls go where this account's data lives (Salesforce's instance_url, a HubSpot portal id, a
Zendesk subdomain).

Two answers fill properties, each field the property its SystemField names: the token response
of an OAuth2 consent (the Authentication's `TokenResponseFields`), then the answer of the
connector's `PostInstallLookupMethod` (its response fields), which is called with the
properties the token response filled. Filled properties are account connector properties like
any other: they decide where the credentials may go, and every request still passes the
egress policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from connectors.call import call_method
from connectors.errors import ConnectorError
from connectors.paths import parse_path, records_from_body
from connectors.spec import Authentication, Connector, FieldSpec
from connectors.validation import Problem


class LookupIncomplete(ConnectorError):
    """The answer had no value for a property the lookup fills."""


def fills_properties(connector: Connector, authentication: Authentication | None) -> bool:
    """Whether anything fills properties for an account connector with this authentication."""
    return bool(connector.PostInstallLookupMethod or (authentication and authentication.TokenResponseFields))


def token_properties(connector: Connector, authentication: Authentication, token_response: Mapping[str, Any]
                     ) -> dict[str, str]:
    """The properties a consent's token response fills."""
    if not authentication.TokenResponseFields:
        return {}
    return _filled(connector, authentication.TokenResponseFields,
                   records_from_body(dict(token_response), authentication.TokenResponseFields), "the token response")


async def looked_up(client: httpx.AsyncClient, connector: Connector, **call: Any) -> dict[str, str]:
    """The properties the PostInstallLookupMethod's answer fills (none without one); `call` is
    what call_method takes for the account connector (credentials, tokens, limiter…)."""
    if not connector.PostInstallLookupMethod:
        return {}
    method = connector.method(connector.PostInstallLookupMethod)
    result = await call_method(client, connector, method.UniqueIdentifier, **call)
    return _filled(connector, method.response_fields, result.records,
                   f"the answer of method '{method.UniqueIdentifier}'")


def _filled(connector: Connector, fields: Sequence[FieldSpec], records: list[dict[str, Any]],
            source: str) -> dict[str, str]:
    properties = {p.Name for p in connector.account_properties()}
    wanted = [f.SystemField for f in fields if f.SystemField in properties]
    record = records[0] if records else {}
    missing = [name for name in wanted if record.get(name) in (None, "")]
    if missing:
        raise LookupIncomplete(f"{source} has no value for {', '.join(missing)}")
    return {name: _text(record[name]) for name in wanted}


def _text(value: Any) -> str:
    """A property's value: text as it came, numbers and booleans as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value)


def problems(connector: Connector) -> Iterator[Problem]:
    """What would make a lookup fill nothing, or fill what is no property."""
    properties = {p.Name for p in connector.account_properties()}
    hint = "(a connector Parameter with IsAccountConnectorProperty)"
    name = connector.PostInstallLookupMethod
    if name is not None:
        method = next((m for m in connector.Methods if m.UniqueIdentifier == name), None)
        if method is None:
            yield Problem("$.PostInstallLookupMethod", f"no method has the UniqueIdentifier '{name}'")
        elif not any(f.SystemField in properties for f in method.response_fields):
            yield Problem("$.PostInstallLookupMethod", f"method '{name}' has no response field whose SystemField "
                                                       f"is an account connector property {hint}: it would fill nothing")
    for i, auth in enumerate(connector.Authentication):
        path = f"$.Authentication[{i}].TokenResponseFields"
        if auth.TokenResponseFields and (auth.AuthType, auth.OAuth2Type) != ("OAuth2", "AuthorisationCode"):
            yield Problem(path, "only an OAuth2 AuthorisationCode authentication has a consent's token response")
        for j, field in enumerate(auth.TokenResponseFields):
            if field.SystemField not in properties:
                yield Problem(f"{path}[{j}].SystemField", f"'{field.SystemField}' is not an account connector "
                                                          f"property {hint}")
            try:
                parse_path(field.ConnectorField)
            except ValueError as err:
                yield Problem(f"{path}[{j}].ConnectorField", str(err))
