"""Where a call fires its script events (DESIGN §2), what each one shows the scripts, and what
they may change.

before_action sees the request before the credentials are put on it (a script reads them only
as `method_auth_value`), and may change its endpoint, headers, query parameters and body, or
skip it. after_action may reshape the response; after_error may turn an HTTP error into a
success (false) or a warning (a text); after_action_paging runs once, on the last page.

before_webhook runs in the API as an event arrives, before it is queued: it may check a
signature, answer a handshake, reshape the event, or refuse it (false) with the answer it set.
after_webhook runs as a run takes the event: it may reshape it into records, or drop it (false).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from yarl import URL

from connectors.bodies import decode
from connectors.scripts import Fired, ScriptHostError, ScriptLimits, ScriptSession
from connectors.spec import Method
from connectors.transport import Response, header_dict
from connectors.urls import checked_url


class CycleStorage(Protocol):
    """The cycle's Storage, as scripts reach it through cycle_storage_get/set/delete."""

    async def get(self, key: str) -> Any: ...
    async def set(self, key: str, value: Any) -> None: ...
    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Scripting:
    """What a call's scripts need beyond the connector: the step's own script, the cycle's
    storage, and the limits every isolate runs under."""

    step_script: str | None = None
    storage: CycleStorage | None = None
    limits: ScriptLimits = field(default_factory=ScriptLimits)


@dataclass
class Outgoing:
    """One request as before_action sees and changes it (credentials not yet on it)."""

    target: URL
    headers: dict[str, str]
    query: dict[str, str | list[str]]
    body: Any
    warnings: list[str] = field(default_factory=list)


async def before_action(session: ScriptSession, outgoing: Outgoing, values: Mapping[str, Any],
                        hidden: set[str], auth_value: str | None, secrets: list[str]) -> bool:
    """Fire before_action; False when a script skipped the request. Scripts see the call's
    mergefields but those in `hidden` (credentials, sensitive parameters)."""
    if not session.handles("before_action"):
        return True
    fired = await session.fire("before_action", {
        "method_endpoint": str(outgoing.target),
        "method_request_headers": dict(outgoing.headers),
        "method_request_parameters": dict(outgoing.query),
        "method_request": outgoing.body,
        "method_request_mergefields": {k: _text(v) for k, v in values.items() if k not in hidden},
        "last_successful_run_date": _text(values.get("LastSuccessfulRunDate")),
        "method_auth_value": auth_value,
    })
    if fired.verdict is False:
        return False
    state = fired.state
    outgoing.target = checked_url(str(state["method_endpoint"]), secrets, "the URL a script set")
    outgoing.headers = _strings(state["method_request_headers"])
    outgoing.query = _query(state["method_request_parameters"])
    outgoing.body = state["method_request"]
    return True


async def after_action(session: ScriptSession, response: Response, payload: Any) -> Any:
    """Fire after_action; the response body as the scripts left it."""
    return await _reshaped(session, "after_action", response, payload)


async def after_action_paging(session: ScriptSession, response: Response, payload: Any) -> Any:
    """Fire after_action_paging once the last page is in (earlier pages' records may already be
    stored): the last page's body as the scripts left it."""
    return await _reshaped(session, "after_action_paging", response, payload)


async def _reshaped(session: ScriptSession, event: str, response: Response, payload: Any) -> Any:
    if not session.handles(event):
        return payload
    fired = await session.fire(event, _response_state(response, payload))
    return fired.state["method_response"]


async def after_error(session: ScriptSession, method: Method, response: Response,
                      reason: str) -> Fired | None:
    """Fire after_error for an HTTP error; None when the error stands."""
    if not session.handles("after_error"):
        return None
    state = _response_state(response, _loose_decode(method, response))
    state["method_error"] = {"status": response.status_code, "message": reason}
    fired = await session.fire("after_error", state)
    return None if fired.verdict is True else fired


@dataclass
class Received:
    """An inbound webhook request, as before_webhook sees it."""

    url: str
    headers: dict[str, str]
    query: dict[str, str]
    raw: str  # the body as received, for signatures
    body: Any  # the body as JSON, or the raw text when it is not JSON


@dataclass
class WebhookAnswer:
    """What before_webhook made of an event: queue it (as `event`) or not, and the answer the
    scripts set, if any."""

    accepted: bool
    event: Any
    status: int | None = None
    response: Any = None
    headers: dict[str, str] = field(default_factory=dict)


async def before_webhook(session: ScriptSession, received: Received, mergefields: Mapping[str, Any]) -> WebhookAnswer:
    fired = await session.fire("before_webhook", {
        "method_endpoint": received.url,
        "method_request_headers": received.headers,
        "method_request_parameters": received.query,
        "method_request": received.body,
        "method_request_raw": received.raw,
        "method_request_mergefields": dict(mergefields),
    })
    state = fired.state
    status = state.get("statusCode")
    return WebhookAnswer(fired.verdict is not False, state["method_request"],
                         status if isinstance(status, int) and 200 <= status <= 599 else None,
                         state.get("method_response"), _strings(state.get("method_response_headers")))


async def after_webhook(session: ScriptSession, event: Any) -> tuple[bool, Any]:
    """Whether the run keeps the event (False: a script dropped it), and the event as the
    scripts left it, which becomes the records."""
    fired = await session.fire("after_webhook", {"method_response": event})
    return fired.verdict is not False, fired.state["method_response"]


HttpRequest = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def host(http_request: HttpRequest, storage: CycleStorage | None) -> Callable[[str, list[Any]], Awaitable[Any]]:
    """The host calls scripts make: http_request through the engine, cycle_storage_* to the
    cycle's Storage."""

    async def call(name: str, args: list[Any]) -> Any:
        if name == "http_request":
            if not args or not isinstance(args[0], dict) or not args[0].get("url"):
                raise ScriptHostError("http_request needs an object with a url")
            return await http_request(args[0])
        if storage is None:
            raise ScriptHostError(f"{name} works only in a step of a cycle, which has Storage")
        if not args or not isinstance(args[0], str):
            raise ScriptHostError(f"{name} needs a key (a string)")
        match name:
            case "cycle_storage_get":
                return await storage.get(args[0])
            case "cycle_storage_set":
                return await storage.set(args[0], args[1] if len(args) > 1 else None)
            case "cycle_storage_delete":
                return await storage.delete(args[0])
        raise ScriptHostError(f"no host call {name}")

    return call


def _response_state(response: Response, payload: Any) -> dict[str, Any]:
    return {"method_response": payload, "method_response_headers": header_dict(response.headers),
            "statusCode": response.status_code}


def _loose_decode(method: Method, response: Response) -> Any:
    """An error's body as data when it is JSON (or XML), else as its text."""
    try:
        return decode(method, response)
    except ValueError:
        return response.text


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _strings(values: Any) -> dict[str, str]:
    """Headers as a script left them: names to text, nulls dropped."""
    if not isinstance(values, dict):
        return {}
    return {str(k): v if isinstance(v, str) else _json_text(v) for k, v in values.items() if v is not None}


def _query(values: Any) -> dict[str, str | list[str]]:
    """Query parameters as a script left them: a list stays a list (its name repeated)."""
    if not isinstance(values, dict):
        return {}
    return {str(k): [_json_text(v) for v in value] if isinstance(value, list) else
            value if isinstance(value, str) else _json_text(value)
            for k, value in values.items() if value is not None}


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
