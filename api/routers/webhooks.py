"""Inbound webhooks (DESIGN §4): each event durable before its 202, many to one commit, and one
wake-up of the cycle for many events."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.engine import Connection
from temporalio.client import Client
from temporalio.service import RPCError

from api.dependencies import TEMPORAL_TIMEOUT
from api.errors import ApiError, not_found, responses
from api.routers.connector_calls import limiter
from api.webhook_signatures import checked, replayed
from connectors import ConnectorError, ScriptError, hooks, nesting
from connectors.call import event_scripts
from connectors.transport import HttpClient
from runtime.metrics import WEBHOOK_EVENTS
from store import inbound
from store.connections import call_options
from store.database import engine, session
from store.group_commit import GroupCommit
from store.signatures import Signature
from workflows.cycle import CycleWorkflow

router = APIRouter(prefix="/v1.0/webhooks", tags=["webhooks"], responses=responses(401, 404, 409, 413, 422))
log = logging.getLogger("cyclewright.webhooks")
KNOWN_FOR = 2.0  # seconds a webhook's cycle and secret are remembered (a new secret applies after)
# Wake-ups of one cycle are this far apart at most: a run in progress takes new events anyway,
# and every signal costs a history event and a workflow task.
WAKE_GAP = 1.0


class Accepted(BaseModel):
    Status: Literal["Accepted"] = "Accepted"


# Written once: the answer to every accepted event (this route's hot path skips serialising).
ACCEPTED = Accepted().model_dump_json().encode()


class Inbox:
    """One per API process: the group commit of events, the webhooks it knows, the wake-ups."""

    def __init__(self, temporal: Client) -> None:
        self.temporal = temporal
        self.commits: GroupCommit[inbound.Event] = GroupCommit(_EventWriter())
        self.known: dict[str, tuple[float, inbound.Webhook]] = {}
        self.waking: dict[str, bool] = {}  # cycle -> woken again after the signal in flight

    async def webhook(self, webhook_id: str) -> inbound.Webhook | None:
        """The webhook, remembered for a while; an unknown id is not remembered (ids a caller
        makes up must not grow this without bound)."""
        seen = self.known.get(webhook_id)
        if seen is not None and time.monotonic() - seen[0] <= KNOWN_FOR:
            return seen[1]
        found = await asyncio.to_thread(_webhook, webhook_id)
        if found is None:
            self.known.pop(webhook_id, None)
        else:
            self.known[webhook_id] = (time.monotonic(), found)
        return found

    def forget(self, webhook_id: str) -> None:
        self.known.pop(webhook_id, None)

    def wake(self, cycle_id: str) -> None:
        """Signal the cycle, one signal in flight at a time: events committed meanwhile send one
        more after it, so every commit is followed by a signal (the cycle also looks on a timer)."""
        if cycle_id in self.waking:
            self.waking[cycle_id] = True
            return
        self.waking[cycle_id] = False
        asyncio.create_task(self._signal(cycle_id))

    async def _signal(self, cycle_id: str) -> None:
        try:
            while True:
                try:
                    handle = self.temporal.get_workflow_handle(f"cycle-{cycle_id}")
                    await handle.signal(CycleWorkflow.events_arrived, rpc_timeout=TEMPORAL_TIMEOUT)
                except RPCError as err:  # not running, or Temporal away: the timer finds the events
                    log.info("wake-up of cycle %s not sent: %s", cycle_id, err.message)
                await asyncio.sleep(WAKE_GAP)
                if not self.waking.get(cycle_id):
                    return
                self.waking[cycle_id] = False
        finally:
            self.waking.pop(cycle_id, None)


class _EventWriter:
    """Queues events on a connection of its own: one commit per group."""

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def __call__(self, events: Sequence[inbound.Event]) -> list[inbound.Admission]:
        self.connection = self.connection or engine().connect()
        try:
            return inbound.accept(self.connection, events)
        except Exception:
            self.connection.close()  # broken, or mid-transaction: the next write starts afresh
            self.connection = None
            raise


def _webhook(webhook_id: str) -> inbound.Webhook | None:
    with session() as db:
        return inbound.webhook(db, webhook_id)


async def inbox(request: Request) -> Inbox:  # async: no thread pool hop on the hot path
    state = request.app.state
    if getattr(state, "inbox", None) is None:
        state.inbox = Inbox(state.temporal)
    return state.inbox


@router.post("/{webhook_id}", status_code=202, response_model=Accepted,
             summary="Receive an event for a webhook-driven cycle",
             description="The event is a durable transaction before this answers 202. Bodies are JSON, "
                         "at most 256 KiB; with a secret set on the step, `X-Signature` must be "
                         "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` (401 otherwise), made "
                         "within `CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS` (300), and is taken once (409 for a "
                         "replay); the bare hex HMAC of the body only where the step opts in. A connector's "
                         "`before_webhook` script may check, reshape or refuse the event, and set the answer "
                         "(a handshake's, say).")
async def receive(webhook_id: str, request: Request, box: Annotated[Inbox, Depends(inbox)],
                  x_signature: Annotated[str | None, Header()] = None) -> Response:
    body = await request.body()
    hook = await box.webhook(webhook_id)
    if hook is None:
        raise not_found("webhook", webhook_id)
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
        return _answer(answer, 200)
    event = answer.event
    if isinstance(event, str) and event == raw:
        try:  # untouched by the scripts: the body as it came, which must be JSON
            event = nesting.loads(event, "the event")
        except ValueError:
            raise ApiError(422, "the body is not JSON (UTF-8), and no before_webhook script made it JSON") from None
    accepted = await _queue(box, hook, json.dumps(event), signature)
    return _answer(answer, 202) if answer.status or answer.response is not None else accepted


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


def _answer(answer: hooks.WebhookAnswer, default_status: int) -> Response:
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
