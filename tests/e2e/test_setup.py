"""`cyclewright setup` registers the search attributes on a cluster that lacks them, and adds
nothing when run again."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from runtime.launcher import ROOT, wait_until
from runtime.settings import SEARCH_ATTRIBUTES
from tests.conftest import DATA_DIR, TEMPORAL_BIN, free_port, temporal_serves


@pytest.fixture
def bare_temporal() -> Iterator[str]:
    """A dev server started without Cyclewright's search attributes; yields its address."""
    port = free_port()
    with open(DATA_DIR / f"bare-temporal-{port}.log", "ab") as out:
        server = subprocess.Popen([TEMPORAL_BIN, "server", "start-dev", "--headless", "--port", str(port),
                                   "--log-level", "error"], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server.poll() is not None or temporal_serves(port), "a Temporal dev server")
        assert server.poll() is None, "the Temporal dev server exited"
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def setup(address: str) -> str:
    done = subprocess.run([sys.executable, "cli.py", "setup"], cwd=ROOT, env={**os.environ, "TEMPORAL_ADDRESS": address},
                          capture_output=True, text=True, timeout=60, check=False)
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
