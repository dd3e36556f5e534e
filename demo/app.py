"""The demo third-party APIs: a CRM to read contacts from and a leads service to write them to.

It counts what it receives, so tests and benchmarks can check exactly-once delivery, and
has admin knobs to hold requests (a run "in progress" on demand) and to inject failures.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from demo.hooks import hooks_router
from demo.ledger import ledger_router
from demo.lookups import lookups_router
from demo.oauth import AuthServer, oauth_router
from demo.paging import paging_router
from demo.petstore import petstore_router

CRM_KEY = os.environ.get("DEMO_CRM_KEY", "demo-crm-key")
LEADS_TOKEN = os.environ.get("DEMO_LEADS_TOKEN", "demo-leads-token")
LEDGER_SECRET = os.environ.get("DEMO_LEDGER_SECRET", "demo-ledger-secret")


def make_contacts(count: int, note_bytes: int = 0, notes: str | None = None) -> list[dict[str, Any]]:
    """`note_bytes` pads each contact (large records); `notes` gives each the same text (a marker)."""
    return [
        {
            "id": f"c{i}",
            "email": f"contact{i}@example.com",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "status": "active" if i % 3 else "inactive",
            "company": {"name": f"Company {i % 7}"},
            "notes": notes if notes is not None else "n" * note_bytes,
        }
        for i in range(1, count + 1)
    ]


@dataclass
class Fault:
    """The next `remaining` calls under `path` (whose body contains `body_contains`, if set)
    fail, once `after` such calls have passed: an error status, or a hang (`delay`)."""

    path: str
    status: int
    remaining: int
    message: str
    headers: dict[str, str]
    delay: float
    body_contains: str | None = None
    after: int = 0

    async def applies(self, path: str, body: Callable[[], Awaitable[bytes]]) -> bool:
        if self.remaining <= 0 or not path.startswith(self.path):
            return False
        if self.body_contains is not None and self.body_contains.encode() not in await body():
            return False
        self.after -= 1
        return self.after < 0


@dataclass
class State:
    contacts: list[dict[str, Any]]
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    emails: Counter[str] = field(default_factory=Counter)  # leads by email, counted as they are made
    by_idempotency_key: dict[str, str] = field(default_factory=dict)
    lead_requests: int = 0
    contact_requests: int = 0
    waiting: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    faults: list[Fault] = field(default_factory=list)
    empty_page_at: int | None = None  # offset where cursor paging serves one empty page
    orders: list[dict[str, Any]] = field(default_factory=list)  # each with its nested lines
    batches: list[dict[str, Any]] = field(default_factory=list)  # each batch request: its key and size
    # (time, path, query, headers): what reached the API, credentials included
    requests: list[tuple[float, str, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate.set()


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # custom fields (demo/lookups.py): kept, and answered back

    email: str
    name: str | None = None
    source: str | None = None


class BatchIn(BaseModel):
    leads: list[LeadIn]


class ResetIn(BaseModel):
    contacts: int = 25
    note_bytes: int = 0
    notes: str | None = None
    empty_page_at: int | None = None
    orders: list[dict[str, Any]] = []  # served by /orders as given: tests choose lines and dates


class FaultIn(BaseModel):
    status: int
    count: int = 1
    message: str = "injected failure"
    path: str = "/leads"
    headers: dict[str, str] = {}
    delay: float = 0
    body_contains: str | None = None
    after: int = 0  # calls let through first


class LogAndFail:
    """ASGI middleware: each request to the APIs (not /admin) recorded, and answered by the
    first injected fault that applies to it instead of by its route. Plain ASGI, as cheap as it
    can be: in a benchmark the demo stands for remote APIs, which cost this machine nothing."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/admin"):
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        self.state.requests.append((time.time(), scope["path"], request.url.query, dict(request.headers)))
        body: bytes | None = None

        async def read() -> bytes:  # once, for the faults that look into it
            nonlocal body
            body = await request.body() if body is None else body
            return body

        fault = None
        for candidate in self.state.faults:
            if await candidate.applies(scope["path"], read):
                fault = candidate
                break
        if fault is None:
            return await self.app(scope, receive if body is None else _replay(body, receive), send)
        fault.remaining -= 1
        await asyncio.sleep(fault.delay)  # longer than the caller's timeout: a hung upstream
        await JSONResponse({"error": fault.message}, status_code=fault.status, headers=fault.headers)(
            scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then what the client sends next (its leaving)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def create_app(contacts: int | None = None, oauth: AuthServer | None = None) -> FastAPI:
    """The demo APIs; `oauth`: the authorization server of another demo app, whose tokens this
    one's OAuth-protected API then takes (an API "instance" apart from the login server)."""
    app = FastAPI(title="Cyclewright demo APIs")
    state = State(make_contacts(contacts or int(os.environ.get("DEMO_CONTACTS", "25"))))
    app.state.demo = state
    app.state.oauth = oauth = oauth or AuthServer()
    app.include_router(paging_router(state))
    app.include_router(oauth_router(oauth))
    app.include_router(hooks_router(LEADS_TOKEN))
    app.include_router(ledger_router(LEDGER_SECRET))
    app.include_router(lookups_router(LEADS_TOKEN))
    app.include_router(petstore_router())

    app.add_middleware(LogAndFail, state=state)

    @app.get("/crm/contacts")
    def list_contacts(
        x_api_key: Annotated[str | None, Header()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100_000)] = 100,
    ) -> dict:
        if x_api_key != CRM_KEY:
            raise HTTPException(401, "bad API key")
        state.contact_requests += 1
        start = (page - 1) * per_page
        return {"records": state.contacts[start : start + per_page], "page": page,
                "total": len(state.contacts)}

    @app.get("/redirect")
    def redirect(to: str) -> RedirectResponse:
        """A redirect to `to`: what an upstream that sends its caller elsewhere does."""
        return RedirectResponse(to, status_code=302)

    @app.api_route("/moved/{status}/{path:path}", methods=["GET", "POST"])
    def moved(status: int, path: str, request: Request) -> RedirectResponse:
        """A redirect with `status` to /`path` (its query kept): an endpoint that moved within the API."""
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/{path}{query}", status_code=status)

    @app.get("/whoami/{service}")
    def whoami(service: Literal["crm", "leads"], x_api_key: Annotated[str | None, Header()] = None,
               authorization: Annotated[str | None, Header()] = None) -> dict:
        """What a connector's AuthTestMethod calls: 200 only with the service's credentials."""
        sent, expected = (x_api_key, CRM_KEY) if service == "crm" else (authorization, f"Bearer {LEADS_TOKEN}")
        if sent != expected:
            raise HTTPException(401, "bad credentials")
        return {"service": service}

    @app.post("/leads/contacts", status_code=201)
    async def create_lead(
        body: LeadIn,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        if authorization != f"Bearer {LEADS_TOKEN}":
            raise HTTPException(401, "bad token")
        state.lead_requests += 1
        state.waiting += 1
        try:
            await state.gate.wait()
        finally:
            state.waiting -= 1
        if idempotency_key and idempotency_key in state.by_idempotency_key:
            return JSONResponse(state.leads[state.by_idempotency_key[idempotency_key]], status_code=200)
        lead = _lead(body)
        if idempotency_key:
            state.by_idempotency_key[idempotency_key] = lead["id"]
        return lead

    def _lead(body: LeadIn) -> dict[str, Any]:
        lead = {"id": f"l{len(state.leads) + 1}", **body.model_dump()}
        state.leads[lead["id"]] = lead
        state.emails[lead["email"]] += 1
        return lead

    @app.get("/orders")
    def list_orders(x_api_key: Annotated[str | None, Header()] = None) -> dict:
        """Orders with nested lines: a collection inside each record."""
        if x_api_key != CRM_KEY:
            raise HTTPException(401, "bad API key")
        return {"orders": state.orders}

    @app.post("/leads/batch", status_code=201)
    def create_leads(
        body: BatchIn,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Any:
        """Many leads in one request; a request whose key was seen creates nothing again."""
        if authorization != f"Bearer {LEADS_TOKEN}":
            raise HTTPException(401, "bad token")
        state.batches.append({"key": idempotency_key, "size": len(body.leads)})
        if idempotency_key and idempotency_key in state.by_idempotency_key:
            return JSONResponse({"ids": state.by_idempotency_key[idempotency_key].split(",")}, status_code=200)
        ids = [_lead(lead)["id"] for lead in body.leads]
        if idempotency_key:
            state.by_idempotency_key[idempotency_key] = ",".join(ids)
        return {"ids": ids}

    @app.get("/admin/stats")
    async def stats(emails: bool = True) -> dict:  # on the loop, as create_lead is: the leads cannot change meanwhile
        """The counts, and each email's leads (`emails=false`: without them, for a cheap poll)."""
        return {"contact_requests": state.contact_requests, "lead_requests": state.lead_requests,
                "leads_created": len(state.leads), "distinct_emails": len(state.emails),
                **({"emails": dict(state.emails)} if emails else {}), "waiting": state.waiting,
                "batches": state.batches}

    @app.get("/admin/leads")
    def leads() -> list[dict[str, Any]]:
        """Every lead as it was received, custom fields and all."""
        return list(state.leads.values())

    @app.post("/admin/reset")
    def reset(body: ResetIn) -> dict:
        fresh = State(make_contacts(body.contacts, body.note_bytes, body.notes))
        fresh.empty_page_at, fresh.orders = body.empty_page_at, body.orders
        for name in ("contacts", "leads", "emails", "by_idempotency_key", "lead_requests", "contact_requests",
                     "faults", "empty_page_at", "requests", "orders", "batches"):
            setattr(state, name, getattr(fresh, name))
        state.gate.set()
        return {"contacts": body.contacts}

    @app.get("/admin/requests")
    def requests(prefix: str = "/") -> list[dict]:
        return [{"at": at, "path": path, "query": query, "headers": headers}
                for at, path, query, headers in state.requests if path.startswith(prefix)]

    @app.post("/admin/hold")
    def hold() -> dict:
        state.gate.clear()
        return {"held": True}

    @app.post("/admin/release")
    def release() -> dict:
        state.gate.set()
        return {"held": False}

    @app.post("/admin/faults")
    def inject(body: FaultIn) -> dict:
        state.faults.append(Fault(body.path, body.status, body.count, body.message, body.headers, body.delay,
                                  body.body_contains, body.after))
        return {"status": body.status, "count": body.count}

    @app.delete("/admin/faults")
    def clear_faults() -> dict:
        """The upstream is fixed: no injected failure is left."""
        state.faults.clear()
        return {"faults": 0}

    return app
