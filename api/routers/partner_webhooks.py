"""Partner webhooks: one inbound URL per connector for every account (connectors/partner_webhooks.py).

    PUT/GET /v1.0/connectors/{id}/webhook      → the URL, and the secret its vendor signs with
    POST    /v1.0/webhooks/partner/{webhook id} → each event to its accounts' Webhook steps

An event is routed by the value at the connector's AccountField to the cycles of the accounts
whose account connector property AccountProperty has it; events for no account (or for accounts
with no cycle taking events) are answered as `Unmatched`, each with its path, and counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from api.auth import PartnerClaims
from api.dependencies import Db, found
from api.errors import COMMON, ApiError, ErrorItem, not_found, responses
from api.inbox import Inbox, inbox
from api.intake import scripted_answer
from api.webhook_signatures import replayed
from connectors import Problem, ScriptError, hooks, nesting
from connectors.partner_webhooks import SignatureRefused, account_value, verify
from connectors.scripts import ScriptHostError, ScriptSession, levels_of, mentions
from connectors.spec import PartnerWebhook
from runtime.metrics import PARTNER_WEBHOOK_EVENTS, WEBHOOK_EVENTS
from runtime.settings import settings
from store import inbound, text
from store import partner_webhooks as store
from store.database import engine, session
from store.signatures import Signature
from store.tables import Connector, ConnectorWebhook

router = APIRouter(prefix="/v1.0/connectors", tags=["connectors"], responses=responses(*COMMON))
intake = APIRouter(prefix="/v1.0/webhooks/partner", tags=["webhooks"], responses=responses(401, 404, 409, 413, 422))
log = logging.getLogger("cyclewright.webhooks")


def webhook_url(webhook_id: str) -> str:
    return f"{settings().public_url.rstrip('/')}/v1.0/webhooks/partner/{webhook_id}"


class PartnerWebhookIn(BaseModel):
    Secret: text.Secret | None = Field(description="the partner's secret the vendor signs events with (its app's "
                                                   "signing secret); null: none")


class PartnerWebhookOut(BaseModel):
    WebhookUrl: str = Field(description="register it with the vendor's app: every account's events come to it")
    Signature: Literal["HmacSha256", "SlackV0"] | None = Field(
        description="the scheme the Live release checks events with; null: events are not signed")
    SecretSet: bool = Field(description="a secret is set (a signed connector's events are refused until it is)")
    AccountProperty: str = Field(description="the account connector property that names an account at the vendor")
    AccountField: str = Field(description="where each event carries that value")


def _live_webhook(db: Db, connector: Connector) -> PartnerWebhook:
    spec = store.live_spec(db, connector.id)
    if spec is None or spec.PartnerWebhook is None:
        raise ApiError(422, f"the Live release of connector '{connector.name}' has no PartnerWebhook",
                       [Problem("$.PartnerWebhook", "is not set in the connector's Live release")])
    return spec.PartnerWebhook


def _view(row: ConnectorWebhook, webhook: PartnerWebhook) -> PartnerWebhookOut:
    return PartnerWebhookOut(WebhookUrl=webhook_url(row.webhook_id), SecretSet=row.secret is not None,
                             Signature=webhook.Signature.Scheme if webhook.Signature else None,
                             AccountProperty=webhook.AccountProperty, AccountField=webhook.AccountField)


@router.put("/{connector_id}/webhook", summary="Make the connector's partner webhook URL, and set its secret "
                                              "(partner token)")
def set_partner_webhook(connector_id: str, body: PartnerWebhookIn, _: PartnerClaims, db: Db) -> PartnerWebhookOut:
    """422 when the connector's Live release has no PartnerWebhook. The URL stays the same when the
    secret changes; a new secret applies at once."""
    connector = found(db, Connector, connector_id, "connector")
    webhook = _live_webhook(db, connector)
    return _view(store.set_secret(db, connector, body.Secret), webhook)


@router.get("/{connector_id}/webhook", summary="The connector's partner webhook URL (partner token)")
def get_partner_webhook(connector_id: str, _: PartnerClaims, db: Db) -> PartnerWebhookOut:
    connector = found(db, Connector, connector_id, "connector")
    webhook = _live_webhook(db, connector)
    row = store.of_connector(db, connector)
    if row is None:
        raise not_found("partner webhook of connector", connector_id)
    return _view(row, webhook)


class PartnerAccepted(BaseModel):
    Status: Literal["Accepted"] = "Accepted"
    Events: int = Field(description="events in the request (an array is one event an element)")
    Queued: int = Field(description="events queued for at least one cycle")
    Unmatched: list[ErrorItem] = Field(description="events that reached no cycle: each with its path in the body "
                                                   "and why (no account has its value, or no cycle takes events)")


@intake.post("/{webhook_id}", status_code=202, response_model=PartnerAccepted,
             summary="Receive events for every account of a connector",
             description="Each event is durable before this answers 202, for the cycles whose Webhook steps use "
                         "the connector in the accounts it names (its AccountField's value, matched against the "
                         "account connectors' AccountProperty). Signed as the connector's PartnerWebhook Signature "
                         "says (401 otherwise; 409 for a timestamped signature taken already); the connector's "
                         "`before_webhook` script may answer a handshake or reshape the body first.")
async def receive(webhook_id: str, request: Request, box: Annotated[Inbox, Depends(inbox)]) -> Response:
    body = await request.body()
    hook = await asyncio.to_thread(_hook, webhook_id)
    if hook is None or hook.connector.PartnerWebhook is None:
        raise not_found("partner webhook", webhook_id)
    signature = _checked(hook, body, request)
    raw = body.decode(errors="replace")
    try:
        parsed: Any = nesting.loads(raw, "the event")
    except ValueError:
        parsed = None
    answer = await _before_webhook(hook, hooks.Received(
        str(request.url), dict(request.headers), dict(request.query_params), raw, raw if parsed is None else parsed))
    if answer is not None and not answer.accepted:
        return scripted_answer(answer, 200)  # a handshake answered, or an event refused, as the script said
    event = parsed if answer is None else answer.event
    if event is None or (parsed is None and event == raw):
        raise ApiError(422, "the body is not JSON (UTF-8), and no before_webhook script made it JSON")
    accepted = await _deliver(box, hook, event, signature)
    if answer is not None and (answer.status or answer.response is not None):
        return scripted_answer(answer, 202)
    return Response(accepted.model_dump_json(), 202, media_type="application/json")


def _hook(webhook_id: str) -> store.PartnerHook | None:
    with session() as db:
        return store.hook(db, webhook_id)


def _checked(hook: store.PartnerHook, body: bytes, request: Request) -> Signature | None:
    """The signature to take once with the events, if the scheme is timestamped; 401 naming what
    is wrong with it; 409 while the connector is signed and no secret is set."""
    scheme = hook.connector.PartnerWebhook.Signature
    if scheme is None:
        return None
    if hook.secret is None:
        raise ApiError(409, f"the partner webhook of connector '{hook.connector.Name}' has no secret yet: set it "
                            "with PUT /v1.0/connectors/{id}/webhook")
    try:
        verified = verify(scheme, hook.secret, body, request.headers, time.time(), settings().webhook_tolerance)
    except SignatureRefused as err:
        raise ApiError(401, str(err), [Problem(err.header, err.what)]) from None
    if verified.signed_at is None:
        return None
    return Signature(f"partner:{hook.connector_id}", verified.value, verified.signed_at)


async def _refuse_requests(_: dict[str, Any]) -> dict[str, Any]:
    raise ScriptHostError("http_request is not available at a partner webhook: no account is known yet")


async def _before_webhook(hook: store.PartnerHook, received: hooks.Received) -> hooks.WebhookAnswer | None:
    """The connector's own before_webhook (no account's, none of a method or step: no account is
    known yet); None when it has none."""
    script = hook.connector.Script
    if not mentions("before_webhook", script):
        return None
    scripts = ScriptSession(levels_of(("connector", script)), hooks.host(_refuse_requests, None),
                            settings().script_limits)
    try:
        async with scripts:
            if not scripts.handles("before_webhook"):
                return None
            return await hooks.before_webhook(scripts, received, {"Webhook_Url": webhook_url(hook.webhook_id)})
    except ScriptError as err:
        log.warning("partner webhook of connector %s: before_webhook failed: %s", hook.connector.Name, err.reason)
        raise ApiError(500, f"the event was not accepted: script failed: {err.reason}") from None


async def _deliver(box: Inbox, hook: store.PartnerHook, body: Any, signature: Signature | None) -> PartnerAccepted:
    """Each event of the body (an array: each element) queued for the cycles its account's
    Webhook steps are in, all in one commit; the cycles woken; what reached none named."""
    webhook = hook.connector.PartnerWebhook
    events: list[Any] = body if isinstance(body, list) else [body]
    keys = [account_value(webhook, e) for e in events]
    outcome = await asyncio.to_thread(_queue, hook.connector_id, keys, [json.dumps(e) for e in events], signature)
    if outcome is None:
        raise replayed()
    queued, reached = outcome
    unmatched = [ErrorItem(Path=f"$[{i}]" if isinstance(body, list) else "$", Message=_unmatched(webhook, key, reached[i]))
                 for i, key in enumerate(keys) if not queued[i]]
    for cycle_id in sorted(set().union(*queued)):
        box.wake(cycle_id)
    delivered = sum(1 for cycles in queued if cycles)
    PARTNER_WEBHOOK_EVENTS.labels(hook.connector.Name, "queued").inc(delivered)
    PARTNER_WEBHOOK_EVENTS.labels(hook.connector.Name, "unmatched").inc(len(unmatched))
    WEBHOOK_EVENTS.inc(sum(len(cycles) for cycles in queued))
    return PartnerAccepted(Events=len(events), Queued=delivered, Unmatched=unmatched)


def _unmatched(webhook: PartnerWebhook, key: str | None, reached: bool) -> str:
    """Why an event reached no cycle."""
    if key is None:
        return f"the event has no value at {webhook.AccountField}"
    if not reached:
        return f"no account connector has {webhook.AccountProperty} '{key}'"
    return f"no cycle of the account with {webhook.AccountProperty} '{key}' takes events now"


def _queue(connector_id: str, keys: list[str | None], texts: list[str], signature: Signature | None
           ) -> tuple[list[set[str]], list[bool]] | None:
    """Each event queued for its targets in one commit: the cycles each was queued for, and
    whether each reached any account; None for a replayed signature (nothing queued)."""
    with engine().connect() as connection:
        targets = store.targets(connection, connector_id, {k for k in keys if k is not None})
        planned = [(i, inbound.Event(cycle, step, texts[i])) for i, key in enumerate(keys)
                   for cycle, step in targets.get(key, []) if key is not None]
        admissions = store.deliver(connection, [e for _, e in planned], signature)
    if admissions is None:
        return None
    queued: list[set[str]] = [set() for _ in keys]
    for (i, event), admission in zip(planned, admissions, strict=True):
        if admission == "queued":
            queued[i].add(event.cycle_id)
    return queued, [key in targets for key in keys]
