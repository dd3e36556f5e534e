"""What a portal session's token may call: the connect portal's routes, for its one account.

A portal token (`scope` "portal") is an account token cut down to what the portal does; every
route it calls is checked against PORTAL_ROUTES (method, path template) before the route runs,
and everything an account token may not do it may not do either.
"""

from __future__ import annotations

from fastapi import Request

from api.errors import ApiError
from runtime.telemetry import ROUTE

PORTAL_SCOPE = "portal"

PORTAL_ROUTES = frozenset({
    ("GET", "/v1.0/portal-sessions/{session_id}"),
    # The marketplace, and installing from it.
    ("GET", "/v1.0/templates"),
    ("GET", "/v1.0/templates/{template_id}"),
    ("POST", "/v1.0/templates/{template_id}/install"),
    # Connecting the account's connectors: forms, credentials checked on the way in, OAuth consent.
    ("GET", "/v1.0/connectors"),
    ("GET", "/v1.0/connectors/{connector_id}/authentication"),
    ("GET", "/v1.0/account/connectors"),
    ("POST", "/v1.0/account/connectors"),
    ("GET", "/v1.0/account/connectors/{id}"),
    ("PUT", "/v1.0/account/connectors/{id}"),
    ("POST", "/v1.0/account/connectors/{id}/test"),
    ("POST", "/v1.0/accounts/{account_id}/signintoken"),
    # Configuring: the fields the account fills, their lookups, mappings and variables.
    ("GET", "/v1.0/steps/{step_id}/fields"),
    ("GET", "/v1.0/steps/{step_id}/fieldmappings"),
    ("PUT", "/v1.0/steps/{step_id}/fieldmappings/{field}"),
    ("POST", "/v1.0/account/connectors/{id}/triggers/{name}"),
    ("GET", "/v1.0/account/connectors/{id}/methods/{method}/customfields"),
    ("POST", "/v1.0/account/connectors/{id}/methods/{method}/customfields"),
    ("GET", "/v1.0/cycles/{cycle_id}/variables"),
    ("PUT", "/v1.0/cycles/{cycle_id}/variables/{name}"),
    # Managing the account's integrations.
    ("GET", "/v1.0/cycles"),
    ("GET", "/v1.0/cycles/{cycle_id}"),
    ("DELETE", "/v1.0/cycles/{cycle_id}"),
    ("GET", "/v1.0/cycles/{cycle_id}/prerequisites"),
    ("PUT", "/v1.0/cycles/{cycle_id}/activate"),
    ("PUT", "/v1.0/cycles/{cycle_id}/deactivate"),
    ("PUT", "/v1.0/cycles/{cycle_id}/pause"),
    ("PUT", "/v1.0/cycles/{cycle_id}/resume"),
    ("GET", "/v1.0/cycles/{cycle_id}/runs"),
    ("GET", "/v1.0/cycles/{cycle_id}/transactions"),
    ("GET", "/v1.0/cycles/{cycle_id}/transactions/{transaction_id}"),
    ("POST", "/v1.0/cycles/{cycle_id}/transactions/{transaction_id}/retry"),
})


def check_portal_route(claims: dict, request: Request) -> None:
    """403 for a portal token on a route the portal does not use."""
    if claims.get("scope") != PORTAL_SCOPE:
        return
    route = request.scope.get(ROUTE, request.url.path)  # the template Admission found (api/routes.py)
    if (request.method, route) not in PORTAL_ROUTES:
        raise ApiError(403, f"a portal session's token may call only the portal's routes, not {request.method} {route}")
