"""What every process needs of its Temporal namespace: that it exists, with the search attributes
Cyclewright's workflows set (settings.SEARCH_ATTRIBUTES).

A namespace without them fails nothing loudly: the server rejects each workflow task that sets an
unknown attribute and the worker only logs it, so a cycle would sit Active with no runs. So the
worker and the API check as they start — adding the attributes that are missing where the server
lets them, refusing to start otherwise — `/readyz` says what is missing, and a cycle checks before
each run and ends Errored with the reason rather than stall (workflows/cycle.py).

A missing namespace is never created by a process (a mistyped TEMPORAL_NAMESPACE would then make
one no other process uses): `cyclewright setup` creates it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.settings import SEARCH_ATTRIBUTES

SETUP = "`cyclewright setup`"
RETENTION = timedelta(days=3)  # of closed workflows' histories, in a namespace setup creates (the CLI's default)
VISIBLE_WITHIN = 60  # seconds a namespace setup creates may take to be known everywhere
UNANSWERED = (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)  # a server that will not say


def _type(kind: str) -> int:
    return IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")


def _kind(indexed: int) -> str:
    return IndexedValueType.Name(indexed).removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")


@dataclass(frozen=True)
class Lacks:
    """What a namespace lacks of what the workflows use; false when nothing."""

    namespace: str
    exists: bool = True
    attributes: tuple[str, ...] = ()  # missing search attributes
    mistyped: tuple[tuple[str, str], ...] = ()  # present with another type: (name, its type)

    def __bool__(self) -> bool:
        return not self.exists or bool(self.attributes or self.mistyped)

    @property
    def unusable(self) -> list[str]:
        """The search attributes no workflow can set."""
        return [*self.attributes, *(name for name, _ in self.mistyped)]

    def __str__(self) -> str:
        where = f"Temporal's namespace {self.namespace}"
        if not self.exists:
            return f"{where} does not exist: run {SETUP} (it creates it)"
        problems = []
        if self.attributes:
            problems.append(f"lacks the search attribute(s) {', '.join(self.attributes)}: run {SETUP}")
        if self.mistyped:
            wrong = ", ".join(f"{name} ({found}, not {SEARCH_ATTRIBUTES[name]})" for name, found in self.mistyped)
            problems.append(f"has the search attribute(s) {wrong}: remove them, then run {SETUP}")
        return f"{where} {'; and '.join(problems)}"


class NamespaceNotReady(Exception):
    """The namespace lacks what the workflows use, and this process cannot add it."""


async def lacking(client: Client) -> Lacks:
    """What the client's namespace lacks. Nothing when the server will not say (an API key that
    may not list search attributes): then no process can check, and each starts."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Lacks(client.namespace, exists=False)
        if err.status in UNANSWERED:
            return Lacks(client.namespace)
        raise
    known = {**listed.custom_attributes, **listed.system_attributes}
    return Lacks(client.namespace,
                 attributes=tuple(name for name in SEARCH_ATTRIBUTES if name not in known),
                 mistyped=tuple((name, _kind(known[name])) for name, kind in SEARCH_ATTRIBUTES.items()
                                if name in known and known[name] != _type(kind)))


async def _add(client: Client, names: tuple[str, ...]) -> None:
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace, search_attributes={name: _type(SEARCH_ATTRIBUTES[name]) for name in names}))


async def prepare(client: Client) -> list[str]:
    """What a process does as it starts: the search attributes the namespace lacks added, where
    the server lets it; their names. NamespaceNotReady, saying what is missing and to run
    `cyclewright setup`, when the namespace does not exist or they cannot be added."""
    lacks = await lacking(client)
    if not lacks.exists or lacks.mistyped:
        raise NamespaceNotReady(str(lacks))
    if lacks.attributes:
        try:
            await _add(client, lacks.attributes)
        except RPCError as err:
            if still := await lacking(client):  # another process may have added them meanwhile
                raise NamespaceNotReady(f"{still} (they could not be added here: {err.message})") from None
    return list(lacks.attributes)


@dataclass(frozen=True)
class SetUp:
    """What `cyclewright setup` changed."""

    created: bool  # the namespace, which did not exist
    added: list[str]  # search attributes


async def setup(client: Client) -> SetUp:
    """`cyclewright setup`: the namespace created if it does not exist, then `prepare`."""
    created = not (await lacking(client)).exists
    if created:
        await client.workflow_service.register_namespace(RegisterNamespaceRequest(
            namespace=client.namespace,
            workflow_execution_retention_period=Duration(seconds=int(RETENTION.total_seconds()))))
        await _visible(client)
    return SetUp(created, await prepare(client))


async def _visible(client: Client) -> None:
    """Once a new namespace is known to every server component (they cache namespaces a while)."""
    deadline = time.monotonic() + VISIBLE_WITHIN
    while not (await lacking(client)).exists:
        if time.monotonic() > deadline:
            raise NamespaceNotReady(f"Temporal's namespace {client.namespace} was created but is still unknown "
                                    f"after {VISIBLE_WITHIN} s: run {SETUP} again")
        await asyncio.sleep(0.5)
