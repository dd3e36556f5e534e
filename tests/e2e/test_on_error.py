"""Acceptance (OnError): what a step's failure does to its transaction, its run and its cycle —
Ignore, Retry (with backoff, within CYCLEWRIGHT_STEP_RETRIES), StopTransaction, StopCycle."""

from __future__ import annotations

import os
from collections import Counter

from temporalio.common import SearchAttributeKey

from tests.templating import (
    contacts_trigger,
    create_lead,
    demo_requests,
    ended_runs,
    field,
    histories,
    install_template,
    run_once,
    storage,
    timers,
    transactions,
)
from tests.walkthrough import Installed, eventually

STEP_RETRIES = int(os.environ["CYCLEWRIGHT_STEP_RETRIES"])  # the tests' worker runs with it
CYCLE_STATUS = SearchAttributeKey.for_keyword("CycleStatus")


def template(name: str, on_error: str) -> dict:
    """Contacts → Create lead (with `on_error`) → a count of the transactions that got past it."""
    return {"Name": name, "Steps": [
        contacts_trigger("lead"),
        create_lead(field("contacts", "Email"), OnError=on_error, Next="after"),
        {"Id": "after", "Type": "Storage", "Operation": "Increment", "Key": "after"},
    ]}


async def refuse(cycle: Installed, contact: int, times: int = 10_000) -> None:
    """The leads service answers 400 to the next `times` requests for this contact."""
    await cycle.demo("faults", status=400, count=times, path="/leads/contacts", message="rejected by the test",
                     body_contains=f"contact{contact}@example.com")


async def test_ignore_records_the_error_and_goes_on(api, demo):
    cycle = await install_template(api, demo.url, template("Ignore errors", "Ignore"), contacts=4)
    await refuse(cycle, 2)
    run = await run_once(cycle)
    assert run["Status"] == "Succeeded" and run["Transactions"] == {"Success": 4, "Errored": 0, "Stopped": 0}
    assert (await cycle.demo_stats())["leads_created"] == 3
    assert await storage(cycle) == {"after": 4}  # every transaction went on past the step

    second = (await transactions(cycle))[1]
    assert second["Status"] == "Success" and second["Path"] == ["contacts", "lead", "after"]
    assert "Create lead" in second["Message"] and "HTTP 400" in second["Message"]
    assert second["Records"]["lead"] == {}  # the failed step gave no record


async def test_retry_tries_again_with_backoff_then_errors_after_the_bound(api, demo, temporal):
    cycle = await install_template(api, demo.url, template("Retry errors", "Retry"), contacts=3)
    await refuse(cycle, 1, times=1)  # fails once, then works
    await refuse(cycle, 2)  # never works
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 2, "Errored": 1, "Stopped": 0}

    first, second, third = await transactions(cycle)
    assert first["Status"] == third["Status"] == "Success" and first["Records"]["lead"]["LeadId"]
    assert second["Status"] == "Errored" and second["Step"] == "lead"
    assert f"(after {STEP_RETRIES + 1} tries)" in second["Message"]
    assert second["Error"]["Response"]["Status"] == 400 and "rejected by the test" in second["Error"]["Response"]["Body"]
    assert await storage(cycle) == {"after": 2}

    # Contact 1 was sent twice, contact 2 once per try: each try a new idempotency key.
    sent = await demo_requests(cycle, "/leads/contacts")
    assert len(sent) == 1 + 2 + STEP_RETRIES + 1
    assert len({r["headers"]["idempotency-key"] for r in sent}) == len(sent)
    # Tries wait 1 s, then 2 s (doubling): Temporal timers, between the batches of requests.
    assert await timers(temporal.client, run["WorkflowId"]) == [2.0 ** n for n in range(STEP_RETRIES)]
    times = sorted(r["at"] for r in sent)
    assert times[3] - times[2] >= 1 and times[-1] - times[-2] >= 2 ** (STEP_RETRIES - 1)
    assert (await cycle.demo_stats())["leads_created"] == 2


async def test_stop_transaction_ends_it_stopped_not_errored(api, demo):
    cycle = await install_template(api, demo.url, template("Stop transactions", "StopTransaction"), contacts=4)
    await refuse(cycle, 2)
    run = await run_once(cycle)
    assert run["Status"] == "Succeeded" and run["Transactions"] == {"Success": 3, "Errored": 0, "Stopped": 1}
    second = (await transactions(cycle))[1]
    assert second["Status"] == "Stopped" and second["Step"] == "lead" and second["Path"] == ["contacts", "lead"]
    assert "HTTP 400" in second["Message"] and second["Error"]["Response"]["Status"] == 400
    assert await storage(cycle) == {"after": 3}
    stopped = await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions", params={"status": "Stopped"})
    assert [t["Number"] for t in stopped.json()] == [2]


async def test_stop_cycle_finishes_what_is_in_flight_and_pauses_the_cycle_with_the_reason(api, demo, temporal):
    cycle = await install_template(api, demo.url, template("Stop the cycle", "StopCycle"), contacts=100)
    await refuse(cycle, 5)
    response = await cycle.activate(Interval=60)  # a schedule, which the failure pauses
    assert response.status_code == 200, response.text
    await cycle.wait_for_status("Paused")

    body = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert "Create lead" in body["StatusReason"] and "HTTP 400" in body["StatusReason"]
    described = await temporal.client.get_workflow_handle(body["WorkflowId"]).describe()
    assert described.typed_search_attributes.get(CYCLE_STATUS) == "Paused"

    (run,) = await eventually(lambda: ended_runs(cycle), "the run to finish what it had in flight")
    assert "the cycle was paused" in run["Message"]
    counts = run["Transactions"]
    assert counts["Errored"] == 1 and counts["Stopped"] >= 1 and sum(counts.values()) == 100
    assert (await cycle.demo_stats())["leads_created"] == counts["Success"]
    assert await storage(cycle) == {"after": counts["Success"]}  # each one in flight went all the way

    listed = await transactions(cycle)
    assert Counter(t["Status"] for t in listed) == {k: v for k, v in counts.items() if v}
    (failed,) = [t for t in listed if t["Status"] == "Errored"]
    assert failed["Number"] == 5 and failed["Step"] == "lead"
    assert all(t["Message"].startswith("not processed: the cycle was paused") and t["Path"] == ["contacts", "lead"]
               for t in listed if t["Status"] == "Stopped")

    # Paused: no further run starts on its own, and it can be resumed.
    assert len(await cycle.runs()) == 1
    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/resume")
    assert response.status_code == 200, response.text
    await eventually(lambda: _status_reason_cleared(cycle), "the reason to clear once resumed")
    await cycle.deactivate(finish=False)


async def _status_reason_cleared(cycle: Installed) -> bool:
    body = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    return body["Status"] == "Active" and body["StatusReason"] is None


async def test_stop_cycle_pauses_a_run_once_cycle_and_resuming_runs_it_again(api, demo):
    cycle = await install_template(api, demo.url, template("Stop a run-once cycle", "StopCycle"), contacts=3)
    await refuse(cycle, 2, times=1)  # the next try of contact 2 succeeds
    response = await cycle.activate(RunOnce=True)
    assert response.status_code == 200, response.text
    await cycle.wait_for_status("Paused")  # not Stopped: the reason stays to be read and acted on
    body = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert "HTTP 400" in body["StatusReason"]

    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/resume")
    assert response.status_code == 200, response.text
    await cycle.wait_for_status("Stopped")  # it ran once more, through, and ended as a run-once cycle does
    runs = await cycle.runs()
    assert [r["Status"] for r in runs] == ["Cancelled", "Succeeded"]
    assert (await cycle.demo_stats())["distinct_emails"] == 3


async def test_stop_cycle_pauses_the_cycle_while_its_run_still_finishes_what_is_in_flight(api, demo):
    steps = template("Stop, then wait", "StopCycle")["Steps"]
    steps[-1]["Next"] = "wait"
    steps.append({"Id": "wait", "Type": "Delay", "Seconds": 600})  # those that got past wait long
    cycle = await install_template(api, demo.url, {"Name": "Stop, then wait", "Steps": steps}, contacts=20)
    await refuse(cycle, 5)
    assert (await cycle.activate(Interval=60)).status_code == 200
    await cycle.wait_for_status("Paused")
    (run,) = await cycle.runs()
    assert run["Status"] == "Running"  # paused at once, not when the delayed transactions are through
    body = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert "HTTP 400" in body["StatusReason"]
    await cycle.deactivate(finish=False)
    await cycle.wait_for_status("Stopped")


async def test_a_failure_built_from_a_record_value_keeps_that_value_out_of_history(api, demo, temporal):
    """A conversion error's message quotes the record's value: it stays in the transaction (the
    database), while the run's log, the StopCycle reason and every workflow history get its kind."""
    marker = "private-note-7c1e"
    lead = create_lead(field("contacts", "Email"), OnError="StopCycle")
    lead["FieldMappings"].append({"Field": "Name", **field("contacts", "Notes", DataType="Integer")})
    cycle = await install_template(api, demo.url, {"Name": "A value that is no number",
                                                   "Steps": [contacts_trigger("lead"), lead]})
    await cycle.demo("reset", contacts=3, notes=marker)
    assert (await cycle.activate(Interval=60)).status_code == 200
    await cycle.wait_for_status("Paused")
    body = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert "FieldValueError" in body["StatusReason"] and marker not in body["StatusReason"]
    (run,) = await eventually(lambda: ended_runs(cycle), "the run to end")
    errored = [t for t in await transactions(cycle) if t["Status"] == "Errored"]
    assert marker in errored[0]["Message"]  # the whole message, where records belong
    for workflow_id in (body["WorkflowId"], run["WorkflowId"]):
        for history in await histories(temporal.client, workflow_id):
            assert marker.encode() not in history.to_json().encode()
    await cycle.deactivate(finish=False)
