"""Data on demand on a short path: `POST /v1.0/account/connectors/{id}/methods/{method}`
answered ahead of FastAPI's routing.

A partner's backend calls it while its own user waits, so what the API adds to the upstream
call is the figure that matters (bench/ondemand.py). FastAPI's routing, dependency injection
and response handling cost more than the rest of what the API does for the call
(bench/profile.py --on-demand), so `OnDemand`, the app's innermost middleware (inside
admission, tracing and the body limit: api/app.py), answers the route itself when its body
is JSON the route takes: the same token check (api/auth.py `partner_claims`), the same account
header, and the same `on_demand` (api/routers/connector_calls.py, where the route is declared
for FastAPI and the API's documentation). Errors are answered through the app's own handlers.
Any other body (no JSON content type, or not a valid CallIn) goes on to FastAPI, whose answer
it is: every answer is the one FastAPI would give.
"""

from __future__ import annotations

import re
from email.message import Message as ContentType
from functools import lru_cache

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import partner_claims
from api.errors import handler_for
from api.limits import replayed
from api.routers.connector_calls import CallIn, on_demand

PATH = re.compile(r"/v1\.0/account/connectors/(?P<id>[^/]+)/methods/(?P<method>[^/]+)")


class OnDemand:
    """ASGI middleware: data-on-demand calls answered here, everything else passed on to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        request = Request(scope, receive) if found is not None else None
        if request is None or not _json(request.headers.get("content-type")):
            return await self.app(scope, receive, send)
        body = await request.body()  # read whole within its limit and checked for depth (api/limits.py)
        taken = _taken(body)
        if taken is None:
            return await self.app(scope, replayed(body, receive), send)
        try:
            claims = await partner_claims(request)
            account_id = request.headers.get("x-account-id") or request.headers.get("x-cyclr-account")
            response = await on_demand(request, claims, account_id, found["id"], found["method"], taken)
        except Exception as err:  # answered as every route answers it, or raised on
            handler = handler_for(request, err)
            if handler is None:
                raise  # the app's last resort: a 500, logged with its traceback
            response = await handler(request, err)
        await response(scope, receive, send)


@lru_cache(maxsize=64)
def _json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this content type as JSON: application/json or
    application/*+json (with no content type, it does not). Cached: clients send a few."""
    parsed = ContentType()
    parsed["content-type"] = content_type or ""
    subtype = parsed.get_content_subtype()
    return bool(content_type) and parsed.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


def _taken(body: bytes) -> CallIn | None:
    """The body as the route takes it (an empty one: CallIn's defaults); None when it is not a
    valid CallIn, for FastAPI to answer."""
    if not body:
        return CallIn()
    try:
        return CallIn.model_validate_json(body)
    except ValidationError:
        return None
