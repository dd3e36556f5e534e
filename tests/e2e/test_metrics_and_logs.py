"""Acceptance (issue 10, point 2): /metrics parses as Prometheus text and its counters move as
a run proceeds; and with CYCLEWRIGHT_LOG_FORMAT=json the worker logs JSON lines with the ids,
a retried upstream failure as one line.

A stack of its own: its worker process serves its metrics on CYCLEWRIGHT_METRICS_PORT (the
worker makes the runs, transactions and upstream calls), and logs to a file of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DATA_DIR, PrivateStack, free_port, partner_client
from tests.walkthrough import eventually, install_demo_cycle

Metrics = dict[tuple[str, frozenset], float]


@pytest.fixture(scope="module")
def stack() -> Iterator[PrivateStack]:
    stack = PrivateStack(f"observed-{free_port()}", CYCLEWRIGHT_METRICS_PORT=str(free_port()),
                         CYCLEWRIGHT_LOG_FORMAT="json")
    try:
        yield stack.start()
    finally:
        stack.stop()


async def scrape(url: str) -> tuple[set[str], Metrics]:
    """The metric families' names, and every sample's value by name and labels."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    return ({f.name for f in families},
            {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples})


def total(metrics: Metrics, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, found), value in metrics.items() if sample == name and wanted <= found)


async def test_metrics_move_as_a_run_with_a_429_proceeds(stack, demo):
    worker_metrics = f"http://127.0.0.1:{stack.overrides['CYCLEWRIGHT_METRICS_PORT']}/metrics"
    _, before = await scrape(worker_metrics)
    async with partner_client(stack.api_url) as api:
        cycle = await install_demo_cycle(api, demo.url, contacts=4)
        await cycle.demo("faults", status=429, count=1, headers={"Retry-After": "1"}, message="slow down")
        await cycle.activate(RunOnce=True)
        (run,) = await cycle.wait_for_runs(1)
        assert run["Transactions"] == {"Success": 4, "Errored": 0, "Stopped": 0}
        api_families, api_metrics = await scrape(f"{stack.api_url}/metrics")

    async def moved() -> Metrics | None:  # the worker counts a run once its close_run returns
        _, after = await scrape(worker_metrics)
        runs = total(after, "cyclewright_runs_total", status="Succeeded")
        return after if runs > total(before, "cyclewright_runs_total", status="Succeeded") else None

    after = await eventually(moved, "the run to be counted")

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    calls = "cyclewright_upstream_calls_total"
    assert grew("cyclewright_runs_total", status="Succeeded") == 1
    assert grew("cyclewright_transactions_total", status="Success") == 4
    assert grew(calls, connector="Demo CRM", method="list-contacts", status_class="2xx") >= 1
    assert grew(calls, connector="Demo Leads", method="create-lead", status_class="4xx") == 1  # the 429
    assert grew(calls, connector="Demo Leads", method="create-lead", status_class="2xx") >= 4
    assert grew("cyclewright_upstream_throttled_total", connector="Demo Leads") == 1
    assert grew("cyclewright_upstream_call_seconds_count", connector="Demo Leads") >= 5
    assert any(name.startswith("temporal_") for name, _ in after)  # the SDK's worker metrics
    assert "cyclewright_transaction_store_lag_seconds" in api_families
    assert "cyclewright_webhook_events_accepted" in api_families
    assert total(api_metrics, "cyclewright_upstream_calls_total", connector="Demo CRM") >= 1  # verifying credentials


async def test_json_logs_carry_the_ids_and_a_retried_failure_is_one_line(stack, demo):
    async with partner_client(stack.api_url) as api:
        cycle = await install_demo_cycle(api, demo.url, contacts=2)
        await cycle.demo("faults", status=503, count=1, message="down for a moment")
        await cycle.activate(RunOnce=True)
        (run,) = await cycle.wait_for_runs(1)
    log = (DATA_DIR / f"{stack.name}-worker.log").read_text()

    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    (failure,) = [line for line in lines if "Completing activity as failed" in line["message"]
                  and line.get("run_id") == run["Id"]]
    assert "Traceback" not in log
    assert "RetryableError, to be retried" in failure["message"] and "503" in failure["message"]
    assert failure["cycle_id"] == cycle.cycle_id and failure["account_id"] == cycle.account_id
    assert failure["step_id"] and failure["level"] == "WARNING"
