"""Calling an account connector's methods from the API: data on demand and the debugger.

No workflow: the caller is waiting. Same engine, credentials, shared rate limits and paging
as a cycle's steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Row
from sqlmodel import Session

from api.auth import Claims
from api.dependencies import AccountHeader, allowed_account
from api.errors import COMMON, ApiError, not_found, responses
from connectors import (
    ConfigurationError,
    Connector,
    ConnectorError,
    Credentials,
    Exchange,
    Pages,
    Problem,
    RateLimited,
    ScriptError,
    call_method,
    fetch_pages,
)
from connectors.dates import OUTSIDE_A_RUN
from connectors.egress import EgressRefused
from connectors.errors import (
    FieldValueError,
    InvalidInput,
    MissingMergefield,
    Unauthorized,
    UnknownParameter,
)
from connectors.nesting import TooDeep
from connectors.oauth import NeedsReauthentication
from store.connections import call_options
from store.custom_fields import load_callable
from store.limiter import DatabaseLimiter
from store.reads import short_read

router = APIRouter(prefix="/v1.0/account/connectors", tags=["account connectors"],
                   responses=responses(*COMMON))
limiter = DatabaseLimiter()


class RecordsOut(BaseModel):
    Records: list[dict[str, Any]]
    Pages: int
    NextCursor: dict[str, Any] | None = Field(description="send back as Cursor to read on; null after the last page")
    Warnings: list[str]


class TestOut(BaseModel):
    Success: bool
    Method: str
    Error: str | None
    Exchanges: list[Exchange] = Field(description="each HTTP exchange, secrets masked")
    Records: list[dict[str, Any]]


class CallIn(BaseModel):
    Parameters: dict[str, str | list[str]] = {}  # a list: a query parameter's items (connectors/encoding.py)
    Fields: dict[str, Any] = {}
    OnePage: bool = False  # only the page Cursor points at (the first when absent)
    Cursor: dict[str, Any] | None = None


class TestIn(BaseModel):
    Method: str | None = None
    Parameters: dict[str, str | list[str]] = {}
    Fields: dict[str, Any] = {}


@dataclass(frozen=True)
class Caller:
    """An account connector ready to call: its row, its connector as it sees it (with its custom
    fields), and its credentials."""

    row: Row  # the account connector's columns (store/custom_fields.py load_callable)
    connector: Connector
    credentials: Credentials

    async def fetch(self, request: Request, method: str, **options: Any) -> Pages:
        """Records of the method (every page unless `max_pages`), upstream failures as API errors."""
        try:
            return await fetch_pages(request.app.state.http, self.connector, method, **options,
                                     **_call_options(self.row, self.credentials))
        except RateLimited as err:
            raise ApiError(429, str(err), headers={"Retry-After": str(max(1, round(err.retry_after)))}) from None
        except ConnectorError as err:
            raise _refused(err) or ApiError(502, "The connector call failed upstream.",
                                            [Problem("upstream", str(err))]) from None


async def load_caller(claims: dict, account_id: str | None, id: str) -> Caller:
    """The caller's account connector, in one short read (store/reads.py), kept until the
    database changes."""
    account_id = allowed_account(claims, account_id)

    def load(db: Session, at_once: bool) -> Caller:
        try:
            return Caller(*load_callable(db, account_id, id, at_once))  # its owner exists: no account lookup
        except LookupError:
            raise not_found("account connector", id) from None

    return await short_read(load, ("account connector to call", account_id, id))


def method_of(connector: Connector, method: str) -> str:
    if method not in {m.UniqueIdentifier for m in connector.Methods}:
        raise not_found(f"method of '{connector.Name}'", method)
    return method


def _call_options(row: Row, credentials: Credentials) -> dict[str, Any]:
    return {**call_options(row.id, credentials, limiter), "mergefields": OUTSIDE_A_RUN}


def _refused(err: ConnectorError) -> ApiError | None:
    """Input, configuration, a connector's script or anything else the engine itself refuses
    (no HTTP status, not worth a retry): 422, never an upstream failure."""
    if isinstance(err, InvalidInput):
        return ApiError(422, "The call's input is invalid.", [Problem(path, message) for path, message in err.problems])
    if isinstance(err, UnknownParameter):
        return ApiError(422, "The call's input is invalid.", [Problem("$.Parameters", err.reason)])
    if isinstance(err, FieldValueError | MissingMergefield):
        return ApiError(422, "The call's input is invalid.", [Problem("$", err.reason)])
    if isinstance(err, EgressRefused | ConfigurationError):
        return ApiError(422, "The call cannot be sent.", [Problem("upstream", err.reason)])
    if isinstance(err, TooDeep):
        return ApiError(422, "The call's answer is nested too deeply to use.", [Problem("upstream", str(err))])
    if isinstance(err, ScriptError):
        return ApiError(422, f"script failed: {err.reason}", [Problem("script", str(err))])
    if err.status is None and not err.retryable and not isinstance(err, Unauthorized | NeedsReauthentication):
        return ApiError(422, "The call cannot be sent.", [Problem("engine", err.brief())])
    return None


@router.post("/{id}/methods/{method}", summary="Data on demand: call a method, get its mapped records",
             response_model=RecordsOut, responses=responses(429, 502))
async def call(id: str, method: str, request: Request, claims: Claims, account_id: AccountHeader,
               body: CallIn | None = None) -> Response:
    """Data on demand: the method's mapped records, from every page or from one. A connector
    script that fails answers 422 `script failed: …` (naming the script, its event and its line);
    an upstream that fails, 502."""
    return await on_demand(request, claims, account_id, id, method, body or CallIn())


async def on_demand(request: Request, claims: dict, account_id: str | None, id: str, method: str,
                    body: CallIn) -> Response:
    """`call`'s answer, for a request FastAPI has checked or api/on_demand.py has: the records
    serialized once, as RecordsOut (built from the engine's own values, not validated again)."""
    caller = await load_caller(claims, account_id, id)
    pages = await caller.fetch(request, method_of(caller.connector, method), cursor=body.Cursor,
                               max_pages=1 if body.OnePage else None, parameters=body.Parameters,
                               fields=body.Fields)
    out = RecordsOut.model_construct(Records=pages.records, Pages=pages.pages, NextCursor=pages.cursor,
                                     Warnings=pages.warnings)
    return Response(out.model_dump_json().encode(), media_type="application/json")


@router.post("/{id}/test", summary="The debugger: call a method and show every HTTP exchange")
async def test(id: str, request: Request, claims: Claims, account_id: AccountHeader,
               body: TestIn | None = None) -> TestOut:
    """The debugger: call the test method (or a named one) and show every HTTP exchange."""
    body = body or TestIn()
    caller = await load_caller(claims, account_id, id)
    row, connector, credentials = caller.row, caller.connector, caller.credentials
    if body.Method:
        method = method_of(connector, body.Method)
    elif (test_method := connector.test_method()) is not None:
        method = test_method.UniqueIdentifier
    else:
        raise ApiError(422, f"connector '{connector.Name}' has no method to test with; name one in Method")
    exchanges: list[Exchange] = []
    result, error = None, None
    try:
        result = await call_method(
            request.app.state.http, connector, method, parameters=body.Parameters, fields=body.Fields,
            on_exchange=exchanges.append, **_call_options(row, credentials),
        )
    except (UnknownParameter, InvalidInput) as err:
        raise _refused(err) from None
    except ConnectorError as err:
        error = str(err)
    return TestOut(Success=error is None, Method=method, Error=error,
                   Exchanges=exchanges,
                   Records=result.records if result else [])
