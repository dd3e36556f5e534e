"""Acceptance: retries end. An upstream that refuses connections is retried only up to the
retry bound (shortened here); then the run ends Failed naming the cause, its transactions are
Errored and retryable, and the cycle's next run starts."""

from __future__ import annotations

from tests.conftest import partner_client
from tests.walkthrough import eventually, install_demo_cycle

BOUND_HOURS = 0.002  # 7.2 s


async def test_refused_connections_end_in_a_failed_run_and_the_schedule_goes_on(demo, private_stack, refusing_url):
    stack = private_stack(CYCLEWRIGHT_UPSTREAM_RETRY_HOURS=str(BOUND_HOURS))
    nowhere = refusing_url
    async with partner_client(stack.api_url) as api:
        source_down = await install_demo_cycle(api, demo.url, contacts=5, base_urls={"Demo CRM": nowhere})
        target_down = await install_demo_cycle(api, demo.url, contacts=5, base_urls={"Demo Leads": nowhere})
        await source_down.activate(Interval=1 / 60)
        await target_down.activate(RunOnce=True)

        # The source: the run gives up, says why, and the next run starts on schedule.
        (failed,) = await source_down.wait_for_runs(1, status="Failed")
        assert "List contacts" in failed["Message"] and "connection failed" in failed["Message"]
        assert "gave up after retrying for 7.2 s" in failed["Message"]
        await eventually(lambda: _run_started(source_down, 2), "the next run")
        await source_down.deactivate(finish=False)

        # The target: the transactions it could not reach are Errored, and retryable once it is back.
        (failed,) = await target_down.wait_for_runs(1, status="Failed")
        assert failed["Transactions"] == {"Success": 0, "Errored": 5, "Stopped": 0}
        base = f"/v1.0/cycles/{target_down.cycle_id}/transactions"
        errored = (await target_down.call("GET", base, params={"status": "Errored"})).json()
        assert len(errored) == 5 and all("connection failed" in t["Message"] for t in errored)
        leads = next(c for c in (await target_down.call("GET", "/v1.0/account/connectors")).json()
                     if c["Name"] == "Demo Leads")
        fixed = await target_down.call("PUT", f"/v1.0/account/connectors/{leads['Id']}",
                                       json={"Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
        assert fixed.status_code == 200, fixed.text
        retried = await target_down.call("POST", f"{base}/{errored[0]['Id']}/retry")
        assert retried.status_code == 202, retried.text

        async def succeeded() -> bool:
            return (await target_down.call("GET", f"{base}/{errored[0]['Id']}")).json()["Status"] == "Success"

        await eventually(succeeded, "the retried transaction to succeed")
        assert (await target_down.demo_stats())["leads_created"] == 1


async def _run_started(cycle, number: int) -> bool:
    return any(r["Number"] == number for r in await cycle.runs())
