"""`cyclewright setup` registers the search attributes on a cluster that lacks them, and adds
nothing when run again; it creates a namespace that does not exist."""

from __future__ import annotations

import os
import subprocess
import sys

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from runtime.launcher import ROOT
from runtime.settings import SEARCH_ATTRIBUTES


def setup(address: str, namespace: str = "default") -> str:
    """`cyclewright setup` against `address`: what it printed (it must succeed)."""
    done = subprocess.run([sys.executable, "cli.py", "setup"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join(done.stdout.split())  # rich wraps long lines


async def test_setup_registers_the_missing_search_attributes_once(bare_temporal):
    client = await Client.connect(bare_temporal)
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    assert not set(SEARCH_ATTRIBUTES) & set(listed.custom_attributes)

    assert f"added search attribute(s) {', '.join(SEARCH_ATTRIBUTES)}" in setup(bare_temporal)
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    assert {name: IndexedValueType.Name(listed.custom_attributes[name]) for name in SEARCH_ATTRIBUTES} == {
        name: f"INDEXED_VALUE_TYPE_{kind.upper()}" for name, kind in SEARCH_ATTRIBUTES.items()}

    assert "every search attribute was already there" in setup(bare_temporal)


async def test_setup_creates_a_namespace_that_does_not_exist_with_its_search_attributes(bare_temporal):
    said = setup(bare_temporal, namespace="cyclewright-fresh")
    assert f"created namespace cyclewright-fresh at {bare_temporal}" in said
    assert f"added search attribute(s) {', '.join(SEARCH_ATTRIBUTES)}" in said
    client = await Client.connect(bare_temporal, namespace="cyclewright-fresh")
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="cyclewright-fresh"))
    assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)
