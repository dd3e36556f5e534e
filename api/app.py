"""The FastAPI application: thin routers over the store and the Temporal client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from starlette.routing import Route
from temporalio.client import Client
from temporalio.service import RPCError

from api import errors
from api.admission import Admission, Lanes
from api.agents import discovery
from api.agents.discovery import MCP_PATH
from api.agents.server import McpEndpoint
from api.auth import document_security
from api.auth import router as auth_router
from api.intake import WebhookIntake
from api.limits import BodyLimit
from api.on_demand import OnDemand
from api.routers import (
    account_connectors,
    accounts,
    agent_tools,
    catalog,
    codec,
    connector_auth,
    connector_calls,
    connectors,
    cycles,
    events,
    health,
    lookups,
    metrics,
    partner_webhooks,
    portal,
    portal_sessions,
    steps,
    templates,
    tool_calls,
    transactions,
    upgrades,
    variables,
    webhooks,
)
from api.routes import Routes
from connectors.client import http_client
from runtime import logs
from runtime.metrics import count_upstream_calls, report_capacity
from runtime.namespace import NamespaceNotReady, prepare
from runtime.settings import settings
from runtime.telemetry import instrument_app, instrument_http, start_tracing
from runtime.temporal import BRIEF_RETRIES, connect
from store.database import engine
from store.group_commit import NEVER_WAITS

log = logging.getLogger("cyclewright.api")
NAMESPACE_CHECK_SECONDS = 10  # at start; /readyz checks again whenever it is asked

DESCRIPTION = """The partner API of Cyclewright, an embedded integration platform on Temporal.

Authenticate with a bearer token from `POST /oauth/token` (OAuth2 client credentials;
`scope=partner`, or `scope=account:{id}` for a token that acts for one account). Account-level
calls name the account in `X-Account-Id` (an account token's own by default). Every error is
`{"Message": …, "Errors": [{"Path": …, "Message": …}]}`.
"""


def _forbid_blocking_calls(database: Engine) -> None:
    """A database call on the event loop stalls every request in flight: the API makes them in
    the thread pool, except on a connection that never waits for a lock (a group commit's first
    try, store/group_commit.py). With CYCLEWRIGHT_STRICT_EVENT_LOOP (the tests) another made on
    the loop fails."""

    @event.listens_for(database, "before_cursor_execute")
    def _off_the_loop(connection: Connection, *_: object) -> None:
        if connection.info.get(NEVER_WAITS):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: where database calls belong
        raise RuntimeError("a blocking database call on the API's event loop")


async def _prepare_namespace(client: Client) -> None:
    """The namespace's missing search attributes added, or no API (runtime/namespace.py); a
    Temporal that does not answer yet is left to /readyz, which says when it does."""
    try:
        async with asyncio.timeout(NAMESPACE_CHECK_SECONDS):
            await prepare(client)
    except NamespaceNotReady as err:
        log.error("the API cannot start: %s (Temporal at %s)", err, settings().temporal_address)
        raise
    except (RPCError, RuntimeError, TimeoutError) as err:
        log.warning("the namespace is not checked (Temporal does not answer: %s); /readyz checks it", err)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if settings().log_format == "json":  # text: uvicorn's logging, as configured
        logs.configure("json")
    logs.hide_access_log_secrets()
    count_upstream_calls()
    database = engine()  # creates the tables before the first request
    if settings().strict_event_loop:
        _forbid_blocking_calls(database)
    threads = anyio.to_thread.current_default_thread_limiter()
    threads.total_tokens = app.state.lanes.threads  # an admitted request never waits for a thread
    report_capacity(database.pool, settings().db_pool_size + settings().db_max_overflow, threads)
    # The API starts (and answers 503) without Temporal; its calls give up in about 2 s.
    app.state.temporal = await connect(settings(), lazy=True, retry_config=BRIEF_RETRIES)
    await _prepare_namespace(app.state.temporal)
    async with http_client(settings().http_timeout, settings().egress) as http:
        app.state.http = instrument_http(http)  # upstream calls made by the API itself (data on demand)
        async with app.state.mcp.running():
            yield


RESOURCES = (accounts, connectors, agent_tools, catalog, partner_webhooks, account_connectors, connector_calls,
             lookups, connector_auth, templates, upgrades, cycles, transactions, steps, variables, events, tool_calls,
             codec, portal_sessions)
# FastAPI's own OpenTelemetry telemetry stays off: runtime/telemetry.py traces, by route.
NO_NATIVE_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}


def create_app() -> FastAPI:
    start_tracing("cyclewright-api")
    # FastAPIOffline: /docs and /redoc from assets installed with the package, not a CDN.
    app = FastAPIOffline(title="Cyclewright", version="0.1.0", lifespan=lifespan, description=DESCRIPTION,
                         swagger_ui_parameters={"persistAuthorization": True}, telemetry=NO_NATIVE_TELEMETRY)
    errors.install(app)
    app.state.lanes = lanes = Lanes(settings())
    routes = Routes()
    # Each route waits its turn in a lane (api/admission.py), except health, metrics and tokens:
    # they must answer however busy the rest is. Webhooks first: theirs are the busiest routes.
    # upgrades before cycles: its /v1.0/cycles/upgradeable is not a cycle's id. The portal's
    # page and sdk.js take a reads place like any page, with no token (api/routers/portal.py).
    webhook_lane = (lambda _: lanes.webhooks)
    laned = ((webhooks.router, webhook_lane), (partner_webhooks.intake, webhook_lane),
             *((m.router, lanes.of) for m in RESOURCES), (codec.signin, lanes.of), (portal.router, lanes.of),
             *((r, lambda _: None) for r in (health.router, metrics.router, auth_router, discovery.router)))
    for router, lane in laned:
        app.include_router(router)
        routes.add(router.routes, lane)
    app.mount("/portal/assets", portal.assets)  # the portal's hashed scripts and styles, as files
    # The MCP server (api/agents/): a plain ASGI app, in the agents lane, each account in turn.
    app.state.mcp = McpEndpoint()
    # POST only: stateless, it has no stream to open (GET) nor session to end (DELETE): 405.
    app.router.routes.append(Route(MCP_PATH, endpoint=app.state.mcp, methods=["POST"]))
    routes.add_app(MCP_PATH, ("POST",), lanes.agents)
    document_security(app, (route for router, _ in laned for route in router.routes if isinstance(route, APIRoute)))
    # Middlewares, outermost first: what is cheapest and sheds load comes before what costs.
    # 1. WebhookIntake: a webhook event is answered here (its own lane place, api/intake.py),
    #    nothing below runs for it. 2. CodecCors: a preflight answered at once. 3. Admission:
    #    the route found and a lane place taken, or a 503 written, before any of what follows.
    #    4. Tracing, when on (a refused request costs no span). 5. BodyLimit: the body read.
    #    6. OnDemand: a data-on-demand call answered here (api/on_demand.py), ahead of FastAPI.
    #    add_middleware puts each outside those added before it: hence the reverse order.
    app.add_middleware(OnDemand)
    app.add_middleware(BodyLimit)
    instrument_app(app)
    app.add_middleware(Admission, routes=routes)
    app.add_middleware(codec.CodecCors)
    app.add_middleware(WebhookIntake)
    return app


app = create_app()
