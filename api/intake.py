"""Webhook intake: each event checked and handed to the inbox (api/inbox.py), on a short path
ahead of FastAPI.

An event's own work is small: its webhook from memory, its signature, a JSON check and a place
in a group commit. What FastAPI does around a request (its middleware, routing, dependency
injection) costs several times that, so `WebhookIntake`, the app's outermost middleware, answers
`POST /v1.0/webhooks/{webhook_id}` itself. It reads the body within its limit (api/limits.py),
takes a place in the webhooks lane (api/admission.py), hands the event to `receive_event` (which
the route in api/routers/webhooks.py, there for the API's documentation, calls too), and answers
an error through the app's own exception handlers: every answer is the one FastAPI would give.
Every other request goes on to FastAPI.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.admission import webhook_turn
from api.errors import ApiError, handler_for, not_found
from api.inbox import Inbox, inbox
from api.limits import DEFAULT_LIMIT, BodyTooLarge, is_json
from api.routers.connector_calls import limiter
from api.webhook_signatures import HEADER, checked, replayed
from connectors import ConnectorError, ScriptError, hooks, nesting
from connectors.call import event_scripts
from connectors.transport import HttpClient
from runtime import context
from runtime.metrics import WEBHOOK_EVENTS
from store import inbound
from store.connections import call_options
from store.signatures import Signature

log = logging.getLogger("cyclewright.webhooks")
PREFIX = "/v1.0/webhooks/"


class Accepted(BaseModel):
    Status: Literal["Accepted"] = "Accepted"


ACCEPTED = Accepted().model_dump_json().encode()  # the answer to every accepted event, written once


class WebhookIntake:
    """ASGI middleware: webhook events answered here, everything else passed on to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook_id = _webhook_id(scope)
        if webhook_id is None:
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        try:
            body = await _body(request)
            async with request.app.state.lanes.webhooks.admitted(webhook_turn(webhook_id)):
                response = await receive_event(request, webhook_id, body, request.headers.get(HEADER))
        except ClientDisconnect:
            return  # nobody to answer, and nothing was queued
        except Exception as err:  # answered as every route answers it, or raised on
            handler = handler_for(request, err)
            if handler is None:
                raise  # the app's last resort: a 500, logged with its traceback
            response = await handler(request, err)
        await response(scope, receive, send)  # the lane's place given back first: a slow reader holds none


def _webhook_id(scope: Scope) -> str | None:
    """The webhook a request posts an event to: POST /v1.0/webhooks/{webhook_id}."""
    if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX):
        return None
    webhook_id = scope["path"][len(PREFIX):]
    return webhook_id if webhook_id and "/" not in webhook_id else None


async def _body(request: Request) -> bytes:
    """The body, as api/limits.py has every other route's: refused (413) once it is larger than
    the limit, at once when its Content-Length says so, or as it arrives; a JSON one nested too
    deeply, refused (422) whatever webhook it is for."""
    headers = dict(request.scope["headers"])
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > DEFAULT_LIMIT:
        raise BodyTooLarge(DEFAULT_LIMIT)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DEFAULT_LIMIT:
            raise BodyTooLarge(DEFAULT_LIMIT)
        chunks.append(chunk)
    body = b"".join(chunks)
    if is_json(headers):
        nesting.check_text(body, "the request body")
    return body


async def receive_event(request: Request, webhook_id: str, body: bytes, x_signature: str | None) -> Response:
    """An event for the webhook: queued (202), or refused saying why."""
    box = await inbox(request)
    hook = await box.webhook(webhook_id)
    if hook is None:
        raise not_found("webhook", webhook_id)
    context.bind(cycle_id=hook.cycle_id)
    signature = checked(hook, body, x_signature)
    if hook.scripts is not None:
        return await _scripted(request, box, hook, body, signature)
    try:
        text = body.decode()
        nesting.loads(text, "the event")
    except ValueError:
        raise ApiError(422, "the body is not JSON (UTF-8)") from None
    return await _queue(box, hook, text, signature)


async def _queue(box: Inbox, hook: inbound.Webhook, text: str, signature: Signature | None) -> Response:
    admission = await box.commits.add(inbound.Event(hook.cycle_id, hook.step_id, text, signature))
    if admission == "closed":
        raise ApiError(409, "the cycle is not active: activate it to receive events")
    if admission == "replayed":
        raise replayed()
    WEBHOOK_EVENTS.inc()
    box.wake(hook.cycle_id)
    return Response(ACCEPTED, 202, media_type="application/json")


async def _scripted(request: Request, box: Inbox, hook: inbound.Webhook, body: bytes,
                    signature: Signature | None) -> Response:
    """The event through its before_webhook scripts: queued as they left it, or not (a handshake
    answered, a bad signature refused), with the answer they set."""
    raw = body.decode(errors="replace")
    try:
        parsed: Any = nesting.loads(raw, "the event")
    except ValueError:
        parsed = raw
    received = hooks.Received(str(request.url), dict(request.headers), dict(request.query_params), raw, parsed)
    answer = await _before_webhook(request.app.state.http, hook, received)
    if not answer.accepted:
        return scripted_answer(answer, 200)
    event = answer.event
    if isinstance(event, str) and event == raw:
        try:  # untouched by the scripts: the body as it came, which must be JSON
            event = nesting.loads(event, "the event")
        except ValueError:
            raise ApiError(422, "the body is not JSON (UTF-8), and no before_webhook script made it JSON") from None
    accepted = await _queue(box, hook, json.dumps(event), signature)
    return scripted_answer(answer, 202) if answer.status or answer.response is not None else accepted


async def _before_webhook(http: HttpClient, hook: inbound.Webhook,
                          received: hooks.Received) -> hooks.WebhookAnswer:
    scripts = hook.scripts
    try:
        async with event_scripts(
            http, scripts.connector, scripts.method, "before_webhook",
            **call_options(scripts.account_connector_id, scripts.credentials, limiter, cycle_id=hook.cycle_id,
                           step_script=scripts.step_script),
        ) as session:
            if session is None:
                return hooks.WebhookAnswer(True, received.body)
            return await hooks.before_webhook(session, received, scripts.mergefields)
    except ConnectorError as err:
        failed = f"script failed: {err.reason}" if isinstance(err, ScriptError) else err.reason
        log.warning("webhook of cycle %s: before_webhook failed: %s", hook.cycle_id, failed)
        raise ApiError(500, f"the event was not accepted: {failed}") from None


def scripted_answer(answer: hooks.WebhookAnswer, default_status: int) -> Response:
    """The answer the scripts set: their body (text as it is, anything else as JSON)."""
    content, media = answer.response, "application/json"
    if content is None:
        body = b""
    elif isinstance(content, str):
        body, media = content.encode(), "text/plain; charset=utf-8"
    else:
        body = json.dumps(content).encode()
    headers = {k: v for k, v in answer.headers.items() if _sendable_header(k, v)}
    return Response(body, answer.status or default_status, headers=headers, media_type=media)


HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110 §5.6.2)
FRAMING = {"content-length", "transfer-encoding", "connection"}  # the server's to set


def _sendable_header(name: str, value: str) -> bool:
    """Headers a script set that can go on the answer: a token name, a value with no line break
    or other control character, and none that frames the message."""
    return bool(HEADER_NAME.match(name)) and name.lower() not in FRAMING and value.isprintable() and value.isascii()
