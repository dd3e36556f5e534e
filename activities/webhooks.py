"""Webhook-driven cycles: events from the inbound queue into runs, and subscriptions at the
connector (CreateWebhookMethod on activation, DeleteWebhookMethod on deactivation)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from typing import Any

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.upstream import Upstream
from connectors import ConnectorError, call_method
from connectors.call import event_scripts
from connectors.hooks import after_webhook
from connectors.paths import records_from_body
from connectors.scripts import ScriptSession
from runtime.settings import settings
from store import inbound
from store.connections import call_options, load_credentials
from store.custom_fields import release_for
from store.database import session
from store.plans import StepPlan, load_step
from store.runs import run_ref
from store.tables import CycleStep
from store.transactions import RunRef
from workflows import names
from workflows.messages import FetchRequest, FetchResult

# A run takes up to this many events at once, waiting up to the window for a batch to fill.
TAKE_EVENTS = 500
TAKE_WINDOW = 0.2
POLL_EVERY = 0.02


class WebhookActivities:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @activity.defn(name=names.TAKE_EVENTS)
    async def take_events(self, request: FetchRequest) -> FetchResult:
        """The cycle's oldest waiting events as transactions `first`…, each read by its
        after_webhook scripts; the cursor is None once the queue was found empty (the run then
        finishes what it took)."""
        step = await asyncio.to_thread(load_step, request.plan_id, request.step)
        run = await asyncio.to_thread(run_ref, request.run_id)
        limit = min(request.max_records, TAKE_EVENTS)
        deadline = time.monotonic() + TAKE_WINDOW
        while await asyncio.to_thread(_pending, run.cycle_id) < limit and time.monotonic() < deadline:
            await asyncio.sleep(POLL_EVERY)  # a fuller batch: fewer, larger ranges
        queued = await asyncio.to_thread(_oldest, run.cycle_id, limit)
        if not queued:
            return FetchResult(0, None)
        taken = await self._read(step, queued)
        count = await asyncio.to_thread(_take, run, request, step, taken)
        failed = sum(1 for event in taken if event.error)
        # Counts only: a script's message may quote the event, and this goes to history.
        warnings = [f"{failed} event(s) could not be read (see the run's Errored transactions)"] if failed else []
        return FetchResult(count, {}, warnings)

    async def _read(self, step: StepPlan, queued: list[inbound.Queued]) -> list[inbound.Taken]:
        """Each event's records; an event its scripts or fields cannot read is kept as an error
        (and the rest go on, in a fresh isolate), so no event can hold up the queue."""
        records_of, scripts = await asyncio.to_thread(_reader, step)
        taken: list[inbound.Taken] = []
        while len(taken) < len(queued):
            try:
                async with self._scripts(scripts, step.cycle_id) as session:
                    for event in queued[len(taken):]:
                        taken.append(await _read_event(session, records_of, event))
            except ConnectorError as err:
                event = queued[len(taken)]
                taken.append(inbound.Taken(event.id, [], f"the event could not be read: {err}", json.loads(event.body)))
        return taken

    def _scripts(self, scripts: inbound.WebhookScripts | None, cycle_id: str) -> Any:
        if scripts is None:
            return nullcontext()
        return event_scripts(self.upstream.client, scripts.connector, scripts.method, "after_webhook",
                             **call_options(scripts.account_connector_id, scripts.credentials, self.upstream.limiter,
                                            cycle_id=cycle_id, step_script=scripts.step_script))

    @activity.defn(name=names.SUBSCRIBE_WEBHOOKS)
    async def subscribe_webhooks(self, cycle_id: str) -> None:
        """Each Webhook step whose method names a CreateWebhookMethod, subscribed at the connector
        with {{Webhook_Url}}; the id it answers is kept as {{Webhook_Id}}. Idempotent."""
        for step in await asyncio.to_thread(_webhook_steps, cycle_id):
            if step.webhook_subscription is None:
                await self._subscribe(step)

    @activity.defn(name=names.UNSUBSCRIBE_WEBHOOKS)
    async def unsubscribe_webhooks(self, cycle_id: str) -> None:
        for step in await asyncio.to_thread(_webhook_steps, cycle_id):
            if step.webhook_subscription is not None:
                await self._call(step, "DeleteWebhookMethod")
                await asyncio.to_thread(_save_subscription, step.id, None)

    async def _subscribe(self, step: CycleStep) -> None:
        answer = await self._call(step, "CreateWebhookMethod")
        if answer is None:
            return  # no CreateWebhookMethod: the vendor sends events without one (a partner webhook, say)
        found = _subscription_id(answer)
        if found is None:
            raise ApplicationError(f"step '{step.name}': the subscription's answer carries no id "
                                   "(a Webhook_Id or Id field, or an 'id')", type="StepError", non_retryable=True)
        await asyncio.to_thread(_save_subscription, step.id, found)

    async def _call(self, step: CycleStep, which: str) -> Any:
        connector, credentials = await asyncio.to_thread(_loaded, step)
        method = getattr(connector.method(step.method), which)
        if method is None:
            return None
        try:
            result = await call_method(
                self.upstream.client, connector, method,
                mergefields={"Webhook_Url": settings().webhook_url(step.webhook_id), "Webhook_Id": step.webhook_subscription},
                **call_options(step.account_connector_id, credentials, self.upstream.limiter, cycle_id=step.cycle_id))
        except ConnectorError as err:
            raise ApplicationError(f"step '{step.name}': {which} '{method}' failed: {err.brief()}",
                                   type=type(err).__name__, non_retryable=not err.retryable) from None
        return result


def _subscription_id(result: Any) -> str | None:
    for record in result.records[:1]:
        for name in ("Webhook_Id", "Id"):
            if record.get(name) not in (None, ""):
                return str(record[name])
    payload = result.body
    return str(payload["id"]) if isinstance(payload, dict) and payload.get("id") not in (None, "") else None


async def _read_event(session: ScriptSession | None, records_of: RecordsOf, event: inbound.Queued) -> inbound.Taken:
    body = json.loads(event.body)
    kept, body = await after_webhook(session, body) if session else (True, body)
    return inbound.Taken(event.id, records_of(body) if kept else [])


RecordsOf = Callable[[Any], list[dict[str, Any]]]


def _reader(step: StepPlan) -> tuple[RecordsOf, inbound.WebhookScripts | None]:
    """How an event's body becomes records (the Webhook method's response fields, or as it is),
    and what its after_webhook scripts need, if it has any."""
    if step.release_id is None:
        return _as_records, None
    with session() as db:
        connector = release_for(db, step.release_id, step.account_connector_id)  # the run's release
        scripts = inbound.scripts_for(db, db.get(CycleStep, step.cycle_step_id), connector, "after_webhook")
    fields = connector.method(step.method).response_fields
    if not fields:
        return _as_records, scripts
    # An array of events whose fields do not start at the array (`[].email`) is read element by element.
    per_event = not any(str(f.ConnectorField).startswith("[") for f in fields)
    return partial(_read_fields, fields, per_event), scripts


def _read_fields(fields: list[Any], per_event: bool, body: Any) -> list[dict[str, Any]]:
    """Records by the method's response fields; an array of events, `per_event`, one event each."""
    if per_event and isinstance(body, list):
        return [record for item in body for record in records_from_body(item, fields)]
    return records_from_body(body, fields)


def _as_records(body: Any) -> list[dict[str, Any]]:
    """An object is one record; an array, one per element."""
    items = body if isinstance(body, list) else [body]
    return [item if isinstance(item, dict) else {"Value": item} for item in items]


def _pending(cycle_id: str) -> int:
    with session() as db:
        return inbound.pending(db, cycle_id)


def _oldest(cycle_id: str, limit: int) -> list[inbound.Queued]:
    with session() as db:
        return inbound.oldest(db, cycle_id, limit)


def _take(run: RunRef, request: FetchRequest, step: StepPlan, taken: list[inbound.Taken]) -> int:
    with session() as db:
        return inbound.take(db, run, request.first, taken, step.id, step.spec.Next)


def _webhook_steps(cycle_id: str) -> list[CycleStep]:
    with session() as db:
        return list(db.exec(select(CycleStep).where(CycleStep.cycle_id == cycle_id, CycleStep.type == "Webhook",
                                                    CycleStep.release_id.is_not(None))))


def _loaded(step: CycleStep):
    with session() as db:
        _, credentials = load_credentials(db, step.account_connector_id)
        return release_for(db, step.release_id, step.account_connector_id), credentials


def _save_subscription(step_id: str, subscription: str | None) -> None:
    with session() as db:
        db.get(CycleStep, step_id).webhook_subscription = subscription
        db.commit()


@activity.defn(name=names.PENDING_EVENTS)
async def pending_events(cycle_id: str) -> int:
    """How many events wait for the cycle: the timer's look, in case a wake-up was lost."""
    return await asyncio.to_thread(_pending, cycle_id)
