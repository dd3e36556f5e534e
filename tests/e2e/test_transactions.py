"""Acceptance (transactions): one bad record errors alone, with its request and a redacted
response; once the upstream is fixed, retrying it sends that one record and nothing else."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from tests.walkthrough import install_demo_cycle


async def test_one_bad_record_errors_alone_and_is_retried_after_the_fix(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=100)
    await cycle.demo("faults", status=400, count=10_000, message="this address is on a block list",
                     path="/leads", body_contains="contact42@example.com")
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 99, "Errored": 1, "Stopped": 0}

    base = f"/v1.0/cycles/{cycle.cycle_id}/transactions"
    listed = await cycle.call("GET", base, params={"run": "1", "per_page": 1000})
    assert listed.headers["Total-Records"] == "100"
    assert Counter(t["Status"] for t in listed.json()) == {"Success": 99, "Errored": 1}
    (errored,) = (await cycle.call("GET", base, params={"status": "Errored"})).json()
    assert errored["Number"] == 42 and errored["Step"] == "lead"

    detail = (await cycle.call("GET", f"{base}/{errored['Id']}")).json()
    assert detail["Path"] == ["contacts", "lead"]
    assert detail["Records"]["contacts"]["Email"] == "contact42@example.com"
    error = detail["Error"]
    assert error["Step"] == "lead" and "HTTP 400" in error["Message"]
    assert error["Request"]["Method"] == "POST" and "contact42@example.com" in error["Request"]["Body"]
    assert {k.lower(): v for k, v in error["Request"]["Headers"].items()}["authorization"] == "***"
    assert error["Response"]["Status"] == 400 and "block list" in error["Response"]["Body"]
    assert "demo-leads-token" not in json.dumps(detail)  # the bearer token never comes back

    # Fixed upstream: the retry sends transaction 42 again, and only it.
    async with httpx.AsyncClient() as client:
        (await client.delete(f"{demo.url}/admin/faults")).raise_for_status()
    sent_before = (await cycle.demo_stats())["lead_requests"]
    response = await cycle.call("POST", f"{base}/{errored['Id']}/retry")
    assert response.status_code == 202, response.text
    retry = temporal.client.get_workflow_handle(response.json()["WorkflowId"])
    assert await retry.result() == "Success"

    detail = (await cycle.call("GET", f"{base}/{errored['Id']}")).json()
    assert detail["Status"] == "Success" and detail["Retries"] == 1 and detail["Error"] is None
    assert detail["Records"]["lead"]["LeadId"]
    stats = await cycle.demo_stats()
    assert stats["lead_requests"] == sent_before + 1
    assert stats["leads_created"] == stats["distinct_emails"] == 100
    (run,) = await cycle.runs()
    assert run["Transactions"] == {"Success": 100, "Errored": 0, "Stopped": 0}

    again = await cycle.call("POST", f"{base}/{errored['Id']}/retry")
    assert again.status_code == 409 and "Success" in again.json()["Message"]


async def test_transaction_list_filters_and_bad_input(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.activate(RunOnce=True)
    await cycle.wait_for_runs(1)
    base = f"/v1.0/cycles/{cycle.cycle_id}/transactions"

    response = await cycle.call("GET", base, params={"status": "Bogus"})
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "query:status"
    assert (await cycle.call("GET", base, params={"before": "yesterday"})).status_code == 422
    assert (await cycle.call("GET", base, params={"run": "7"})).status_code == 404
    assert (await cycle.call("GET", f"{base}/nope")).status_code == 404

    page = await cycle.call("GET", base, params={"per_page": 2, "page": 2})
    assert page.headers["Total-Pages"] == "2" and [t["Number"] for t in page.json()] == [1]
    assert (await cycle.call("GET", base, params={"after": "2999-01-01T00:00:00Z"})).json() == []
    assert len((await cycle.call("GET", base, params={"status": "Success", "before": "2999-01-01"})).json()) == 3
