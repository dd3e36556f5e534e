"""Acceptance (issue 3, point 3): one account connector's limit holds across worker processes.

Two workers run two cycles' calls to one limited account connector; the limiter never grants
more permits than the limit in its window, both workers made calls, at the same time, and every
request reached the upstream once, after its permit (tests/ratelimits.py says why the check is
on the limiter's record rather than on when requests happened to arrive)."""

from __future__ import annotations

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from connectors.limits import SECONDS
from connectors.spec import RateLimit
from store.database import engine
from store.limiter import window
from tests.conftest import STARTUP_SECONDS, partner_client
from tests.ratelimits import (
    Grants,
    at_once,
    calls_by_worker,
    each_after_a_permit,
    identity,
    most_within,
    polling,
    step_work,
)
from tests.walkthrough import catalog_document, eventually, install_demo_cycle

LIMIT = RateLimit(MaxRequests=5, TimeFrame="Seconds")
CONTACTS = 20  # per cycle


async def test_two_workers_share_one_account_connectors_limit(demo, private_stack):
    stack = private_stack(CYCLEWRIGHT_BATCH_SIZE="1")  # an activity per call: work for both workers
    workers = [stack.processes[0], stack.add_worker()]
    client = await Client.connect(stack.env["TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter)
    await eventually(lambda: polling(client, workers), "both workers polling", STARTUP_SECONDS)

    async with partner_client(stack.api_url) as api:
        first = await install_demo_cycle(api, demo.url, contacts=CONTACTS)  # the catalog and an account
        limited = catalog_document("connectors", "demo-leads.json")
        limited["Name"] = "Limited Leads"
        limited["RateLimits"] = [LIMIT.model_dump(exclude_none=True)]
        assert (await api.post("/v1.0/connectors", json=limited)).status_code == 201
        template = catalog_document("templates", "crm-contacts-to-leads.json")
        template["Name"] = "CRM contacts to limited leads"
        template["Steps"][1]["Connector"] = "Limited Leads"
        template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]

        response = await first.call("POST", "/v1.0/account/connectors", json={
            "ConnectorId": next(c["Id"] for c in (await api.get("/v1.0/connectors")).json()
                                if c["Name"] == "Limited Leads"),
            "AuthValue": "demo-leads-token", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
        assert response.status_code == 201
        account_connector = response.json()["Id"]
        cycles = []
        for _ in range(2):
            cycle = (await first.call("POST", f"/v1.0/templates/{template_id}/install", json={})).json()
            lead = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
            await first.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source",
                             json={"MappingType": "StaticValue", "Value": "crm"})
            cycles.append(cycle["Id"])

        with Grants(engine()).recording() as grants:
            for cycle_id in cycles:
                response = await first.call("PUT", f"/v1.0/cycles/{cycle_id}/activate", json={"RunOnce": True})
                assert response.status_code == 200, response.text
            runs = []
            for cycle_id in cycles:
                first.cycle = {"Id": cycle_id}
                (run,) = await first.wait_for_runs(1)
                assert run["Transactions"] == {"Success": CONTACTS, "Errored": 0, "Stopped": 0}
                runs.append(run["WorkflowId"])
            granted = grants.of(account_connector)

    async with httpx.AsyncClient() as http:
        log = (await http.get(f"{demo.url}/admin/requests", params={"prefix": "/leads"})).json()
    assert most_within(granted, SECONDS[LIMIT.TimeFrame]) <= LIMIT.MaxRequests  # the limit
    assert most_within(granted, window(LIMIT)) <= LIMIT.MaxRequests  # and the limiter's slack on top
    assert each_after_a_permit([entry["at"] for entry in log], granted)
    assert len(granted) == 2 * CONTACTS

    work = [w for run in runs for w in await step_work(client, run, "lead")]
    calls = calls_by_worker(work)
    assert calls.keys() == {identity(w) for w in workers}, calls  # each worker made calls
    assert sum(calls.values()) == 2 * CONTACTS
    assert at_once(work)  # and both at the same time: they shared the limit
