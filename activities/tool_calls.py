"""Agents' writes (workflows/tool_call.py): the call sent once it may go, exactly as data on
demand sends it (api/routers/connector_calls.py: the same credentials, egress policy, shared
rate limits, scripts and masking) with the call's id as the idempotency key, and its outcome
written to the store. Arguments and records never leave the store and this activity: what goes
back to the workflow is a status; what goes to history on a retry is the error's brief (status
and reason, never the upstream's body, which may echo what was sent)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.failures import is_throttled, throttle_delay
from activities.slots import started
from activities.upstream import Upstream, heartbeating
from connectors import (
    ConfigurationError,
    Connector,
    ConnectorError,
    Credentials,
    RetryableError,
    ScriptError,
)
from connectors.auth import secrets_of
from connectors.call import call_method
from connectors.dates import OUTSIDE_A_RUN
from connectors.egress import EgressRefused
from connectors.errors import FieldValueError, MissingMergefield, Unauthorized, UnknownParameter
from connectors.exchange import shown_json
from connectors.oauth import NeedsReauthentication
from runtime import context
from store import tool_calls
from store.connections import call_options
from store.custom_fields import load_callable
from store.database import session
from store.tables import ToolCall
from workflows import names
from workflows.messages import DecidedToolCall


@dataclass(frozen=True)
class Ready:
    """A call that may go, with what sending it takes."""

    row: ToolCall
    arguments: dict[str, Any]
    connector: Connector
    credentials: Credentials


def _load(call_id: str) -> Ready | str:
    """The call ready to send, or the status it already has (sent before, or not to be sent)."""
    with session() as db:
        row = db.get(ToolCall, call_id)
        if row is None:
            return "Gone"
        if row.status != "Running":
            return row.status
        try:
            _, connector, credentials = load_callable(db, row.account_id, row.account_connector_id)
        except LookupError:
            tool_calls.fail(db, call_id, f"the account connector {row.account_connector_id} was removed before "
                                         "the call could be sent: nothing was sent")
            return "Failed"
        return Ready(row, tool_calls.arguments(row), connector, credentials)


def party(err: ConnectorError) -> str:
    """Whose the failure is, for the call's Error."""
    if isinstance(err, ScriptError):
        return "the connector's script failed"
    if isinstance(err, Unauthorized | NeedsReauthentication):
        return "the upstream API refused the account connector's credentials"
    if isinstance(err, EgressRefused):
        return "the egress policy refused the call"
    if isinstance(err, ConfigurationError):
        return "the account connector's setup prevents the call"
    if isinstance(err, UnknownParameter | FieldValueError | MissingMergefield):
        return "the call's input was refused before sending"
    if err.status is not None:
        return "the upstream API refused the call"
    return "the call could not be sent"


class ToolCallActivities:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @activity.defn(name=names.SEND_TOOL_CALL)
    async def send_tool_call(self, call_id: str) -> str:
        """Sends the call (again, after a crash: the same idempotency key) unless it has an
        outcome already; answers its status."""
        ready = await asyncio.to_thread(_load, call_id)
        if isinstance(ready, str):
            return ready
        row = ready.row
        context.bind(account_id=row.account_id)
        try:
            async with heartbeating(lambda: None), self.upstream.slots(row.account_connector_id).slot(started()):
                called = await call_method(
                    self.upstream.client, ready.connector, row.method,
                    parameters=ready.arguments.get("Parameters", {}), fields=ready.arguments.get("Fields", {}),
                    mergefields=OUTSIDE_A_RUN, idempotency_key=row.id,
                    **call_options(row.account_connector_id, ready.credentials, self.upstream.limiter))
        except ConnectorError as err:
            if err.retryable:
                raise _retry(err) from None
            await asyncio.to_thread(_record_failure, call_id, f"{party(err)}: {err.brief()}")
            return "Failed"
        records = shown_json(called.records, secrets_of(ready.credentials, ready.connector), row.masked)
        await asyncio.to_thread(_record_records, call_id, records)
        return "Completed"


def _retry(err: ConnectorError) -> ApplicationError:
    """A retryable failure as Temporal retries it: a 429's wait, or the upstream's Retry-After."""
    delay = None
    if is_throttled(err):
        delay = throttle_delay(1, err.retry_after)
    elif isinstance(err, RetryableError) and err.retry_after is not None:
        delay = err.retry_after
    return ApplicationError(f"the upstream API failed: {err.brief()}", type=type(err).__name__,
                            next_retry_delay=timedelta(seconds=delay) if delay is not None else None)


def _record_records(call_id: str, records: list[Any]) -> None:
    with session() as db:
        tool_calls.complete(db, call_id, records)


def _record_failure(call_id: str, error: str) -> None:
    with session() as db:
        tool_calls.fail(db, call_id, error)


@activity.defn(name=names.DECIDE_TOOL_CALL)
async def decide_tool_call(decided: DecidedToolCall) -> None:
    """A person's decision (or the approval's expiry) recorded: nothing is sent unless approved."""

    def decide() -> None:
        with session() as db:
            tool_calls.decide(db, decided.call_id, decided.status, decided.by, decided.at)

    await asyncio.to_thread(decide)


@activity.defn(name=names.FAIL_TOOL_CALL)
async def fail_tool_call(call_id: str, cause: str) -> str:
    """Every try of sending failed: recorded Failed, with the last cause."""
    await asyncio.to_thread(_record_failure, call_id, f"every try to send the call failed ({cause[:500]})")
    return "Failed"
