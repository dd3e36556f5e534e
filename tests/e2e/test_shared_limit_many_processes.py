"""Acceptance (issue 10, point 4): two workers and two API processes on one PostgreSQL and one
Temporal; a connector whose two methods have limits of their own share the connector's limit:
the limiter never grants more than either limit in its window, while both workers make calls at
the same time, and every request reaches the upstream once, after its permit (tests/ratelimits.py
says why the check is on the limiter's record rather than on when requests happened to arrive)."""

from __future__ import annotations

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from connectors.limits import SECONDS
from connectors.spec import RateLimit
from store.database import connect
from store.limiter import window
from tests.conftest import STARTUP_SECONDS, api_process, free_port, partner_client
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
from tests.walkthrough import Installed, catalog_document, eventually

SHARED, OWN = 4, 3  # requests per second: the connector's, and each method's (together more than SHARED)
SHARED_LIMIT, OWN_LIMIT = (RateLimit(MaxRequests=n, TimeFrame="Seconds") for n in (SHARED, OWN))
CONTACTS = 12  # per cycle


def _create_lead(identifier: str) -> dict:
    return {"UniqueIdentifier": identifier, "Name": identifier, "HttpMethod": "Post",
            "Endpoint": "{{BaseUrl}}/leads/contacts",
            "RateLimits": [OWN_LIMIT.model_dump(exclude_none=True)],
            "RequestFormat": {"Fields": [{"ConnectorField": "email", "SystemField": "Email"}]},
            "ResponseFormat": {"Fields": [{"ConnectorField": "id", "SystemField": "LeadId"}]}}


LEADS = {
    "Name": "Shared Limit Leads", "Version": "1.0", "AuthTestMethod": "whoami",
    "Authentication": [{"Name": "Token", "AuthType": "Bearer", "IsDefault": True}],
    "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "RateLimits": [SHARED_LIMIT.model_dump(exclude_none=True)],
    "Methods": [_create_lead("create-lead-a"), _create_lead("create-lead-b"),
                {"UniqueIdentifier": "whoami", "Name": "Who am I", "HttpMethod": "Get",
                 "Endpoint": "{{BaseUrl}}/whoami/leads"}],
}


def _template(method: str) -> dict:
    return {"Name": f"Contacts to leads by {method}", "Steps": [
        {"Id": "contacts", "Connector": "Demo CRM", "Method": "list-contacts", "Next": "lead"},
        {"Id": "lead", "Connector": LEADS["Name"], "Method": method, "FieldMappings": [
            {"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"}]}]}


async def _account(api: httpx.AsyncClient, demo_url: str) -> tuple[str, str]:
    """An account with the demo CRM and the shared-limit leads connector installed; the ids of
    the account and of its leads account connector (the key of its rate-limit buckets)."""
    account_id = (await api.post("/v1.0/accounts", json={"Name": "Shared limits"})).json()["Id"]
    for document, secret in ((catalog_document("connectors", "demo-crm.json"), "demo-crm-key"),
                             (LEADS, "demo-leads-token")):
        response = await api.post("/v1.0/connectors", json=document)
        assert response.status_code == 201, response.text
        response = await api.post("/v1.0/account/connectors", headers={"X-Account-Id": account_id}, json={
            "ConnectorId": response.json()["Id"], "AuthValue": secret,
            "Properties": [{"Name": "BaseUrl", "Value": demo_url}]})
        assert response.status_code == 201, response.text
    return account_id, response.json()["Id"]


async def _install(api: httpx.AsyncClient, account_id: str, demo_url: str, method: str) -> Installed:
    response = await api.post("/v1.0/templates", json=_template(method))
    assert response.status_code == 201, response.text
    response = await api.post(f"/v1.0/templates/{response.json()['Id']}/install",
                              headers={"X-Account-Id": account_id}, json={})
    assert response.status_code == 201, response.text
    return Installed(api, account_id, response.json(), demo_url)


async def test_two_methods_on_two_workers_never_exceed_their_shared_limit(demo, postgres_database, private_stack):
    # An activity per call, so that both workers have calls to make.
    stack = private_stack(DATABASE_URL=postgres_database, CYCLEWRIGHT_BATCH_SIZE="1")
    workers = [stack.processes[0], stack.add_worker()]
    second_api_port = free_port()
    stack.processes.append(api_process(second_api_port, stack.env, f"{stack.name}-api-2.log"))
    client = await Client.connect(stack.env["TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter)
    await eventually(lambda: polling(client, workers), "both workers polling", STARTUP_SECONDS)
    async with httpx.AsyncClient() as http:
        (await http.post(f"{demo.url}/admin/reset", json={"contacts": CONTACTS})).raise_for_status()

    database = connect(postgres_database)
    async with (partner_client(stack.api_url) as first_api,
                partner_client(f"http://127.0.0.1:{second_api_port}") as second_api):
        account_id, leads = await _account(first_api, demo.url)
        cycles = [await _install(first_api, account_id, demo.url, "create-lead-a"),
                  await _install(second_api, account_id, demo.url, "create-lead-b")]
        with Grants(database).recording() as grants:
            for cycle in cycles:  # each through its own API process; both run at once
                response = await cycle.activate(RunOnce=True)
                assert response.status_code == 200, response.text
            runs = []
            for cycle in cycles:
                (run,) = await cycle.wait_for_runs(1)
                assert run["Transactions"] == {"Success": CONTACTS, "Errored": 0, "Stopped": 0}
                runs.append(run["WorkflowId"])
            shared, own = grants.of(leads), [grants.of(f"{leads}/create-lead-{m}") for m in "ab"]
    database.dispose()

    for limit, times in ((SHARED_LIMIT, shared), (OWN_LIMIT, own[0]), (OWN_LIMIT, own[1])):
        assert most_within(times, SECONDS[limit.TimeFrame]) <= limit.MaxRequests  # the limit
        assert most_within(times, window(limit)) <= limit.MaxRequests  # and the limiter's slack on top
    assert [len(times) for times in own] == [CONTACTS, CONTACTS]
    assert each_after_a_permit([entry["at"] for entry in await _requests(demo.url)], shared)

    work = [w for run in runs for w in await step_work(client, run, "lead")]
    calls = calls_by_worker(work)
    assert calls.keys() == {identity(w) for w in workers}, calls  # each worker made calls
    assert sum(calls.values()) == 2 * CONTACTS
    assert at_once(work)  # and both at the same time: they shared the limit


async def _requests(demo_url: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{demo_url}/admin/requests", params={"prefix": "/leads/contacts"})).json()
