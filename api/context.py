"""Every request's ids, from its path and account header, on its span and log lines."""

from __future__ import annotations

from fastapi import Request

from runtime import context


async def request_ids(request: Request) -> None:
    """Async, so that the ids stay in the request's own context (a sync dependency runs in the
    thread pool, on a copy). The headers are read here, not declared: no route's schema changes."""
    path, headers = request.path_params, request.headers
    context.bind(cycle_id=path.get("cycle_id"), step_id=path.get("step_id"),
                 account_id=path.get("account_id") or headers.get("x-account-id") or headers.get("x-cyclr-account"))
