"""Acceptance (issue 15, point 7): on a Temporal namespace without the search attributes the
workflows set, nothing stalls silently. The worker and the API add them, or refuse to start
naming `cyclewright setup`; /readyz says what is missing; and a cycle whose run cannot start ends
Errored with the reason, never Active without runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.launcher import answers, wait_until
from runtime.settings import SEARCH_ATTRIBUTES
from tests.conftest import Process, free_port, partner_client
from tests.e2e.test_setup import setup
from tests.walkthrough import eventually, install_demo_cycle

LACKING_RUN_ATTRIBUTES = ("Temporal's namespace default lacks the search attribute(s) RunStatus, "
                          "ErroredTransactions: run `cyclewright setup`")


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Worker and API processes the test starts; stopped after it."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


def _start(processes: list[Process], address: str, api_port: int | None = None, namespace: str = "default",
           log: str = "namespace") -> Process:
    """The worker, or with `api_port` the API, against `address`."""
    env = {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace,
           "CYCLEWRIGHT_PUBLIC_URL": f"http://127.0.0.1:{api_port or free_port()}"}
    command = ("worker.py",) if api_port is None else (
        "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(api_port))
    processes.append(Process(*command, env=env, log=f"{log}-{free_port()}.log"))
    return processes[-1]


def _said(process: Process) -> str:
    """What the process wrote, on one line."""
    return " ".join(process.log.read_text(errors="replace").split())


def _refused(process: Process) -> str:
    """Waits for the process to exit, as it must; what it said."""
    wait_until(process.exited, "the process to refuse to start")
    assert process.popen.returncode != 0
    return _said(process)


async def _custom_attributes(client: Client) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    return dict(listed.custom_attributes)


async def test_the_processes_add_what_is_missing_and_a_run_that_cannot_start_errors_its_cycle(
        bare_temporal, processes, demo):
    client = await Client.connect(bare_temporal)
    assert not set(SEARCH_ATTRIBUTES) & set(await _custom_attributes(client))

    # The worker, alone, adds them as it starts.
    worker = _start(processes, bare_temporal, log="adding-worker")
    await eventually(lambda: _has_all(client), "the worker to add the search attributes")
    assert not worker.exited()
    assert f"added search attribute(s) {', '.join(SEARCH_ATTRIBUTES)} to namespace default" in _said(worker)
    api_port = free_port()
    _start(processes, bare_temporal, api_port, log="adding-api")
    api_url = f"http://127.0.0.1:{api_port}"
    wait_until(lambda: answers(f"{api_url}/readyz"), "the API")

    async with partner_client(api_url) as api:
        assert (await api.get("/readyz")).status_code == 200
        cycle = await install_demo_cycle(api, demo.url, contacts=2)
        assert (await cycle.activate(Interval=3600)).status_code == 200
        await cycle.wait_for_runs(1)

        # The run attributes go (an operator removes them) under the running worker and API.
        await client.operator_service.remove_search_attributes(RemoveSearchAttributesRequest(
            namespace="default", search_attributes=["RunStatus", "ErroredTransactions"]))
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["Errors"] == [{"Path": "temporal.namespace", "Message": LACKING_RUN_ATTRIBUTES}]

        # The next run cannot start: the cycle ends Errored, saying why, instead of staying Active.
        assert (await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")).status_code == 200
        await cycle.wait_for_status("Errored")
        shown = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
        assert shown["StatusReason"] == f"run 2 cannot start: {LACKING_RUN_ATTRIBUTES}"
        assert [r["Number"] for r in await cycle.runs()] == [1]
        with pytest.raises(RPCError) as missing:
            await client.get_workflow_handle(f"cycle-{cycle.cycle_id}-run-2").describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND


async def _has_all(client: Client) -> bool:
    return set(SEARCH_ATTRIBUTES) <= set(await _custom_attributes(client))


async def test_the_processes_refuse_to_start_on_a_namespace_they_cannot_prepare(bare_temporal, processes):
    # A namespace that does not exist: neither process creates it (a mistyped name would make
    # one no other process uses)...
    for started in (_start(processes, bare_temporal, namespace="cyclewright-absent", log="absent-worker"),
                    _start(processes, bare_temporal, free_port(), namespace="cyclewright-absent", log="absent-api")):
        assert ("Temporal's namespace cyclewright-absent does not exist: run `cyclewright setup` (it creates it) "
                f"(Temporal at {bare_temporal})") in _refused(started)
    # ...`cyclewright setup` does, and then the worker starts.
    setup(bare_temporal, namespace="cyclewright-absent")
    worker = _start(processes, bare_temporal, namespace="cyclewright-absent", log="set-up-worker")
    wait_until(lambda: worker.exited() or "worker polling task queue" in _said(worker), "the worker to poll")
    assert not worker.exited()

    # An attribute of another type: adding cannot mend it.
    client = await Client.connect(bare_temporal)
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace="default", search_attributes={"RunStatus": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}))
    assert ("has the search attribute(s) RunStatus (Text, not Keyword): remove them, then run `cyclewright setup`"
            in _refused(_start(processes, bare_temporal, log="mistyped-worker")))
    await client.operator_service.remove_search_attributes(RemoveSearchAttributesRequest(
        namespace="default", search_attributes=["RunStatus"]))

    # Attributes the server will not add (SQL visibility has three Int slots, all taken here).
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace="default", search_attributes={f"Other{i}": IndexedValueType.INDEXED_VALUE_TYPE_INT
                                                for i in range(3)}))
    for started in (_start(processes, bare_temporal, log="full-worker"),
                    _start(processes, bare_temporal, free_port(), log="full-api")):
        said = _refused(started)
        assert (f"Temporal's namespace default lacks the search attribute(s) {', '.join(SEARCH_ATTRIBUTES)}: "
                "run `cyclewright setup` (they could not be added here: Unable to create search attributes: "
                "cannot have more than 3 search attribute of type Int.)") in said, said


async def test_a_run_whose_start_the_server_refuses_errors_its_cycle(api, demo, temporal):
    """Another real refusal: a workflow of the run's id is running already (nobody polls its queue)."""
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    squatter = await temporal.client.start_workflow("Squatter", id=f"cycle-{cycle.cycle_id}-run-1",
                                                    task_queue="nobody-polls-this")
    try:
        assert (await cycle.activate(RunOnce=True)).status_code == 200
        await cycle.wait_for_status("Errored")
        shown = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
        assert shown["StatusReason"] == (f"run 1 could not start as workflow cycle-{cycle.cycle_id}-run-1: "
                                         "Workflow execution already started")
        assert await cycle.runs() == [] and (await cycle.demo_stats())["contact_requests"] == 0
    finally:
        await squatter.terminate()
