"""Every error is JSON {Message, Errors: [{Path, Message}]} with the status that fits it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ExceptionHandler
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from connectors import ConnectorInvalid, Problem
from connectors.nesting import MAX_DEPTH, TooDeep
from store.problems import Conflict, Forbidden, Invalid, json_path, plain

log = logging.getLogger("cyclewright.api")


class ErrorItem(BaseModel):
    Path: str
    Message: str


class ErrorBody(BaseModel):
    """Every error the API answers."""

    Message: str
    Errors: list[ErrorItem] = []


class OAuthErrorBody(ErrorBody):
    """The token endpoint's errors also carry RFC 6749's fields, for OAuth2 client libraries."""

    error: str
    error_description: str


WHEN = {
    400: "The request is malformed (a header it needs is missing, say).",
    401: "No valid bearer token.",
    403: "The token may not do this (an account token, or another account's).",
    404: "Something the path names does not exist (or belongs to another account).",
    409: "The object is not in a state that allows this.",
    413: "The body is larger than this call's limit.",
    422: "The input is invalid: each error names the field and what is wrong.",
    429: "The upstream's rate limit is reached; Retry-After says when to try again.",
    502: "The upstream API failed or refused the call.",
    503: "The API is busy, or Temporal or the database is unavailable: nothing was done; try again after "
         "Retry-After seconds.",
}
RETRY_AFTER = {"Retry-After": "1"}  # with every 503: nothing was done, the same request may be sent again
log = logging.getLogger("cyclewright.api")


def responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI responses for the errors a route can answer, all in the ErrorBody form."""
    return {status: {"model": ErrorBody, "description": WHEN[status]} for status in statuses}


# What any authenticated route can answer: a body that is not JSON (400), no or a bad token,
# a token that may not (403), an id that names nothing (404), a body too large, invalid input.
COMMON = (400, 401, 403, 404, 413, 422)


class ApiError(Exception):
    def __init__(self, status: int, message: str, problems: Iterable[Problem] = (),
                 headers: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, list(problems)
        self.headers, self.extra = headers, extra or {}


def not_found(what: str, id: str) -> ApiError:
    return ApiError(404, f"{what} '{id}' was not found")


def unavailable(message: str, problems: Iterable[Problem] = ()) -> ApiError:
    """503 with Retry-After: nothing was done; the same request may be sent again."""
    return ApiError(503, message, problems, headers=RETRY_AFTER)


def _body(message: str, problems: Iterable[Problem]) -> dict:
    return ErrorBody(Message=message, Errors=[ErrorItem(Path=p.path, Message=p.message) for p in problems]).model_dump()


def _location(loc: tuple) -> str:
    # FastAPI puts where the value came from first: body, query, header, path.
    where, *rest = loc
    path = json_path(rest)
    return path if where == "body" else f"{where}:{path.removeprefix('$').lstrip('.')}"


def error_response(status: int, message: str, problems: Iterable[Problem] = (),
                   headers: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({**_body(message, problems), **(extra or {})}, status, headers=headers)


def handler_for(request: Request, err: Exception) -> ExceptionHandler | None:
    """The app's handler for the error (`install`), for a short path that answers ahead of
    FastAPI (api/intake.py, api/on_demand.py); None for the last resort: that one is the
    server's, which also logs the traceback (the error is raised on)."""
    handlers = request.app.exception_handlers
    return next((handlers[kind] for kind in type(err).__mro__ if kind in handlers and kind is not Exception), None)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return error_response(err.status, err.message, err.problems, err.headers, err.extra)

    @app.exception_handler(Invalid)
    async def invalid(_: Request, err: Invalid) -> JSONResponse:
        return error_response(422, "The document is invalid; nothing was saved.", err.problems)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, err: Forbidden) -> JSONResponse:
        return error_response(403, str(err))

    @app.exception_handler(Conflict)
    async def conflict(_: Request, err: Conflict) -> JSONResponse:
        return error_response(409, str(err), err.problems)

    @app.exception_handler(ConnectorInvalid)
    async def connector_invalid(_: Request, err: ConnectorInvalid) -> JSONResponse:
        return error_response(422, "The connector is invalid; nothing was saved.", err.problems)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [Problem(_location(tuple(e["loc"])), plain(e["msg"])) for e in err.errors()]
        return error_response(422, "The request is invalid.", problems)

    @app.exception_handler(TooDeep)
    async def too_deep(_: Request, err: TooDeep) -> JSONResponse:
        return error_response(422, "The request is invalid.", [Problem("$", err.reason)])

    @app.exception_handler(RecursionError)
    async def recursed(request: Request, err: RecursionError) -> JSONResponse:
        # Data deeper than any check caught: input, so 422, but logged to find where it got through.
        route = getattr(request.scope.get("route"), "path", "?")  # its template: a webhook's path is a secret
        log.warning("%s %s recursed too deeply", request.method, route, exc_info=err)
        return error_response(422, "The request could not be processed: its data is nested too deeply.",
                              [Problem("$", f"nested too deeply (the limit is {MAX_DEPTH} levels)")])

    @app.exception_handler(RPCError)
    async def temporal_unavailable(_: Request, err: RPCError) -> JSONResponse:
        return error_response(503, f"Temporal did not answer: {err.message}", headers=RETRY_AFTER)

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def temporal_too_slow(_: Request, err: RPCTimeoutOrCancelledError) -> JSONResponse:
        # The call was sent and may yet take effect (a workflow busy, a worker slow): what it
        # asked is safe to ask again.
        return error_response(503, "Temporal did not answer in time; try again", headers=RETRY_AFTER)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(_: Request, err: PoolTimeout) -> JSONResponse:
        return error_response(503, "the API is busy: no database connection was free in time; try again",
                              headers=RETRY_AFTER)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, err: OperationalError) -> JSONResponse:
        # A locked SQLite file (its busy timeout passed), a PostgreSQL server gone: the statement
        # failed, nothing was committed. Its text may quote parameters, so it is logged, not answered.
        log.warning("%s %s: the database failed: %s", request.method, request.url.path, err.orig)
        return error_response(503, "the database is unavailable or busy; try again", headers=RETRY_AFTER)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        # Logged with its traceback by the server (the error is raised again after this answer).
        return error_response(500, "internal error: the request failed unexpectedly (see the API's log)")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        return error_response(err.status_code, str(err.detail), headers=err.headers)
