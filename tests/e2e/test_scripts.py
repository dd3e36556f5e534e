"""Acceptance (issue 9, points 2 and 3) in running cycles: the demo ledger's scripts sign and
reshape in the worker, a step's own script reaches the cycle's Storage, and an endless script
errors its transaction while the worker goes on with other cycles."""

from __future__ import annotations

from tests.templating import (
    create_lead,
    ended_runs,
    field,
    install_template,
    run_once,
    storage,
    transactions,
)
from tests.walkthrough import Installed, eventually

REMEMBER = """
function before_action() { action_data.email = method_request.email; }
function after_action() { cycle_storage_set('lead ' + action_data.email, statusCode); }
"""
ENDLESS = """
function before_action() {
  cycle_storage_set('looping', true);
  while (true) {}
}
"""


def ledger_to_leads(name: str, script: str | None = None) -> dict:
    return {"Name": name, "Steps": [
        {"Id": "entries", "Name": "List entries", "Connector": "Demo Ledger", "Method": "list-entries",
         "Next": "lead"},
        create_lead(field("entries", "Email"), Script=script),
    ]}


async def test_a_cycle_runs_a_connector_that_works_only_with_its_scripts(api, demo):
    cycle = await install_template(api, demo.url, ledger_to_leads("Ledger to leads", REMEMBER))
    run = await run_once(cycle)
    assert run["Status"] == "Succeeded" and run["Transactions"]["Success"] == 2
    leads = await cycle.demo_stats()
    assert leads["leads_created"] == 2
    # The step's script saw its request before the call and the answer after it.
    assert await storage(cycle) == {"lead first@example.com": 201, "lead second@example.com": 201}


async def test_an_endless_script_errors_its_transaction_and_the_worker_goes_on(api, demo):
    looping = await install_template(api, demo.url, ledger_to_leads("Endless script", ENDLESS))
    assert (await looping.activate(RunOnce=True)).status_code == 200
    await eventually(lambda: _stored(looping, "looping"), "the endless script to start")

    # While both of its calls spin in their isolates, another cycle on the same worker runs through.
    other = await install_template(api, demo.url, ledger_to_leads("Beside an endless script"))
    assert (await run_once(other))["Transactions"]["Success"] == 2
    assert not await ended_runs(looping)

    (run,) = await eventually(lambda: ended_runs(looping), "the endless script's run to end")
    assert run["Transactions"]["Errored"] == 2
    for transaction in await transactions(looping):
        assert "the step script's before_action did not finish within 10 s" in transaction["Message"]


async def _stored(cycle: Installed, key: str) -> bool:
    return key in await storage(cycle)
