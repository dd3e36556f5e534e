"""Request body limits, enforced before a body is read into memory, and before it is parsed.

A body larger than its route's limit is refused with 413 naming the limit: at once when
Content-Length says so, or as soon as a streamed (chunked) body passes it, so a 50 MB body
costs the API no more than the limit. A JSON body (one FastAPI parses as JSON) nested deeper
than nesting.MAX_DEPTH is refused with 422 before any route parses it.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from connectors import Problem, nesting

KIB, MIB = 1024, 1024 * 1024
DEFAULT_LIMIT = 256 * KIB
# Documents are larger than everything else: (method, path) -> bytes.
LIMITS = {("POST", "/v1.0/connectors"): 5 * MIB, ("POST", "/v1.0/templates"): 1 * MIB,
          ("POST", "/v1.0/connectors/import/openapi"): 16 * MIB,  # real API documents run to several MB
          # The Web UI decodes an event's payloads at once; Temporal allows 2 MB each.
          ("POST", "/codec/encode"): 8 * MIB, ("POST", "/codec/decode"): 8 * MIB}


def limit_for(method: str, path: str) -> int:
    return LIMITS.get((method, path.rstrip("/")), DEFAULT_LIMIT)


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI, which turns other errors while reading a body into 400,
    lets it through to the error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this call's limit of {_size(limit)}")


def is_json(headers: dict[bytes, bytes]) -> bool:
    """Whether FastAPI reads the body as JSON: no content type, or application/json or +json."""
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not kind or kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


class BodyLimit:
    """ASGI middleware: counts the body as it arrives and stops it at the route's limit; a JSON
    body is read whole (up to the limit) and measured for depth before the route gets it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope["method"], scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await error_response(413, BodyTooLarge(limit).detail)(scope, receive, send)
        if is_json(headers):
            return await self._json(scope, receive, send, limit)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return await error_response(413, BodyTooLarge(limit).detail)(scope, receive, send)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            nesting.check_text(body, "the request body")
        except nesting.TooDeep as err:
            return await error_response(422, "The request is invalid.", [Problem("$", err.reason)])(
                scope, receive, send)
        await self.app(scope, replayed(body, receive), send)


def replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body, read already, given again first: for the app behind to read."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()  # a disconnect, in time
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
