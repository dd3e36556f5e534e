"""Acceptance (issue 19, points 2 and 3): agents' writes run as a Temporal workflow each, one
write per key even across a worker SIGKILL mid-call; a write held for approval sends nothing
until approved, and nothing at all when rejected or expired. Plus bad input: 422, nothing started."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from store.tool_calls import call_id
from tests.conftest import Process
from tests.e2e.test_on_demand import installed
from tests.walkthrough import Installed, eventually, install_demo_cycle
from workflows.cycle import ACCOUNT_ID

TOOL_CALLS = "/v1.0/account/tool-calls"
LEAD = {"Fields": {"Email": "ada@example.com", "Name": "Ada", "Source": "agent"}}


async def _setup(api: httpx.AsyncClient, demo) -> tuple[Installed, str]:
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    return cycle, await installed(cycle, "Demo Leads")


def _write(leads: str, key: str, **more: Any) -> dict[str, Any]:
    return {"Connector": leads, "Method": "create-lead", "Arguments": LEAD, "Key": key, "Tool": "create_lead",
            "WaitSeconds": 30, **more}


async def _lead_requests(cycle: Installed) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{cycle.demo_url}/admin/requests", params={"prefix": "/leads"})).json()


def _handle(temporal, cycle: Installed, id: str):
    client: Client = temporal.client
    return client.get_workflow_handle(f"tool-call/{cycle.account_id}/{id}")


async def _waiting_for_approval(temporal, cycle: Installed, id: str) -> bool:
    """The workflow ran its first task and waits on the approval's timer: it has had every chance to send."""
    history = await _handle(temporal, cycle, id).fetch_history()
    return any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)


async def test_a_write_called_twice_with_the_same_key_creates_one_lead(api, demo, temporal):
    cycle, leads = await _setup(api, demo)
    first, again = await asyncio.gather(*(cycle.call("POST", TOOL_CALLS, json=_write(leads, "mcp-request-7"))
                                          for _ in range(2)))
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    call = first.json()
    assert call["Status"] == "Completed" and again.json()["Id"] == call["Id"] == call_id(cycle.account_id,
                                                                                        "mcp-request-7")
    assert call["Result"] == [{"LeadId": "l1", "Email": "ada@example.com"}]
    third = await cycle.call("POST", TOOL_CALLS, json=_write(leads, "mcp-request-7"))
    assert third.status_code == 200 and third.json()["Id"] == call["Id"]  # after it ended: the stored outcome
    stats = await cycle.demo_stats()
    assert stats["lead_requests"] == 1 and stats["leads_created"] == 1, stats
    (sent,) = await _lead_requests(cycle)
    assert sent["headers"]["idempotency-key"] == call["Id"]  # the call's id, not the client's key

    other = await cycle.call("POST", TOOL_CALLS, json=_write(leads, "mcp-request-7", Arguments={
        "Fields": {**LEAD["Fields"], "Email": "bob@example.com"}}))
    assert other.status_code == 409 and other.json()["Errors"][0]["Path"] == "$.Key", other.text

    listed = (await cycle.call("GET", TOOL_CALLS, params={"status": "Completed"})).json()
    assert [c["Id"] for c in listed["Items"]] == [call["Id"]] and listed["Total"] == 1
    assert listed["Items"][0]["Request"] == {"Parameters": {}, **LEAD}
    assert (await cycle.call("GET", TOOL_CALLS, params={"status": "Failed"})).json()["Total"] == 0
    stranger = (await api.post("/v1.0/accounts", json={"Name": "Stranger"})).json()["Id"]
    response = await api.get(f"{TOOL_CALLS}/{call['Id']}", headers={"X-Account-Id": stranger})
    assert response.status_code == 404
    assert (await api.get(TOOL_CALLS, headers={"X-Account-Id": stranger})).json()["Total"] == 0
    description = await _handle(temporal, cycle, call["Id"]).describe()
    assert description.typed_search_attributes.get(ACCOUNT_ID) == cycle.account_id
    assert await description.static_summary() == f"Tool create_lead for account {cycle.account_id}"


async def test_a_worker_sigkilled_mid_write_still_makes_one_lead(api, demo, worker, temporal):
    cycle, leads = await _setup(api, demo)
    await cycle.demo("hold")
    response = await cycle.call("POST", TOOL_CALLS, json=_write(leads, "crash-1", WaitSeconds=0))
    assert response.status_code == 202 and response.json()["Status"] == "Running", response.text
    id = response.json()["Id"]
    # The premise: the leads service holds the request the activity sent.
    await eventually(lambda: _held(cycle), "the write to reach the leads service")
    worker["process"].kill()  # SIGKILL: the activity never reports back
    await cycle.demo("release")  # …yet the leads service goes on to create the lead
    await eventually(lambda: _created(cycle, 1), "the held request's lead")
    worker["process"] = Process("worker.py")
    assert await _handle(temporal, cycle, id).result() == "Completed"
    call = (await cycle.call("GET", f"{TOOL_CALLS}/{id}")).json()
    assert call["Status"] == "Completed" and call["Result"][0]["LeadId"] == "l1"
    stats = await cycle.demo_stats()
    assert stats["lead_requests"] == 2, stats  # sent again after the crash…
    assert stats["leads_created"] == 1, stats  # …with the same key: still one lead


async def _held(cycle: Installed) -> bool:
    return (await cycle.demo_stats())["waiting"] == 1


async def _created(cycle: Installed, leads: int) -> bool:
    return (await cycle.demo_stats())["leads_created"] == leads


async def test_a_write_held_for_approval_sends_nothing_until_approved(api, demo, temporal):
    cycle, leads = await _setup(api, demo)
    response = await cycle.call("POST", TOOL_CALLS, json=_write(leads, "approve-me", Approval=True))
    assert response.status_code == 202 and response.headers["Location"] == f"{TOOL_CALLS}/{response.json()['Id']}"
    call = response.json()
    assert call["Status"] == "AwaitingApproval" and call["Links"]["Approve"] and call["ExpiresAt"]
    await eventually(lambda: _waiting_for_approval(temporal, cycle, call["Id"]), "the approval's wait")
    assert await _lead_requests(cycle) == []  # nothing sent while it awaits approval

    approved = await cycle.call("POST", call["Links"]["Approve"])
    assert approved.status_code == 200 and approved.json()["Status"] == "Running", approved.text
    assert approved.json()["DecidedBy"].startswith("partner token of ")
    assert await _handle(temporal, cycle, call["Id"]).result() == "Completed"
    done = (await cycle.call("GET", f"{TOOL_CALLS}/{call['Id']}")).json()
    assert done["Status"] == "Completed" and done["DecidedAt"] and done["Links"]["Approve"] is None
    assert (await cycle.demo_stats())["leads_created"] == 1
    again = await cycle.call("POST", call["Links"]["Approve"])
    assert again.status_code == 409 and "is Completed" in again.json()["Message"]


async def test_a_rejected_write_sends_nothing_and_says_so(api, api_url, demo, temporal):
    cycle, leads = await _setup(api, demo)
    call = (await cycle.call("POST", TOOL_CALLS, json=_write(leads, "reject-me", Approval=True))).json()
    await eventually(lambda: _waiting_for_approval(temporal, cycle, call["Id"]), "the approval's wait")
    stranger = (await api.post("/v1.0/accounts", json={"Name": "Stranger"})).json()["Id"]
    async with await _account_client(api_url, stranger) as theirs:  # another account's token: not its call
        assert (await theirs.post(f"{TOOL_CALLS}/{call['Id']}/reject")).status_code == 404
    async with await _account_client(api_url, cycle.account_id) as own:
        rejected = await own.post(f"{TOOL_CALLS}/{call['Id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["Status"] == "Rejected", rejected.text
    assert rejected.json()["Error"] == "rejected by account token of test-client: nothing was sent"
    assert await _handle(temporal, cycle, call["Id"]).result() == "Rejected"
    assert await _lead_requests(cycle) == []
    response = await cycle.call("POST", f"{TOOL_CALLS}/{call['Id']}/approve")
    assert response.status_code == 409 and "is Rejected" in response.json()["Message"]
    # The same key again: the same, rejected call; still nothing sent.
    repeat = await cycle.call("POST", TOOL_CALLS, json=_write(leads, "reject-me", Approval=True))
    assert repeat.json()["Id"] == call["Id"] and repeat.json()["Status"] == "Rejected"
    assert await _lead_requests(cycle) == []


async def _account_client(api_url: str, account_id: str) -> httpx.AsyncClient:
    """A client holding an account token of `account_id` (no X-Account-Id: the token names it)."""
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        issued = await anonymous.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
            "scope": f"account:{account_id}"})
    return httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {issued.json()['access_token']}"})


async def test_an_unanswered_write_expires_and_sends_nothing(api, demo, temporal):
    cycle, leads = await _setup(api, demo)
    call = (await cycle.call("POST", TOOL_CALLS, json=_write(leads, "expire-me", Approval=True,
                                                             ApprovalTimeoutSeconds=1))).json()
    assert call["Status"] == "AwaitingApproval"
    assert await _handle(temporal, cycle, call["Id"]).result() == "Expired"
    expired = (await cycle.call("GET", f"{TOOL_CALLS}/{call['Id']}")).json()
    assert expired["Status"] == "Expired" and expired["DecidedBy"] is None
    assert expired["Error"] == "nobody approved it before its approval expired: nothing was sent"
    assert await _lead_requests(cycle) == []
    response = await cycle.call("POST", f"{TOOL_CALLS}/{call['Id']}/approve")
    assert response.status_code == 409 and "is Expired" in response.json()["Message"]


async def test_an_upstream_refusal_fails_the_call_naming_the_party(api, demo, temporal):
    cycle, leads = await _setup(api, demo)
    await cycle.demo("faults", status=400, message="duplicate email ada@example.com")
    call = (await cycle.call("POST", TOOL_CALLS, json=_write(leads, "refused"))).json()
    assert call["Status"] == "Failed", call
    assert call["Error"].startswith("the upstream API refused the call: Demo Leads create-lead: HTTP 400")
    assert "ada@example.com" not in call["Error"]  # the upstream's body may echo the record: not kept


async def test_a_write_the_upstream_fails_once_is_retried_with_the_same_key(api, demo, temporal):
    cycle, leads = await _setup(api, demo)
    await cycle.demo("faults", status=503, message="try later")
    call = (await cycle.call("POST", TOOL_CALLS, json=_write(leads, "retried"))).json()
    assert await _handle(temporal, cycle, call["Id"]).result() == "Completed"
    first, second = await _lead_requests(cycle)
    assert first["headers"]["idempotency-key"] == second["headers"]["idempotency-key"] == call["Id"]
    assert (await cycle.demo_stats())["leads_created"] == 1


@pytest.mark.parametrize(("change", "path", "says"), [
    ({"Connector": "no-such-connector"}, "$.Connector", "the account has no connector 'no-such-connector'"),
    ({"Method": "nope"}, "$.Method", "has no method 'nope'"),
    ({"Method": "list-lead-sources"}, "$.Method", "reads (GET)"),
    ({"Method": "lead-events"}, "$.Method", "is a Webhook, not a write"),
    ({"Arguments": {"Fields": {"Name": "Ada", "Source": "agent"}}}, "$.Arguments.Fields.Email",
     "required field 'Email' has no value"),
    ({"Arguments": {"Parameters": {"Limit": "5"}, "Fields": LEAD["Fields"]}}, "$.Arguments.Parameters",
     "no parameter 'Limit'"),
    ({"Arguments": {"Records": []}}, "$.Arguments.Records", "Extra inputs are not permitted"),
    ({"Key": ""}, "$.Key", "a key of 1 to 255 characters"),
    ({"Tool": "create\udc00lead"}, "$.Tool", "at most 128 printable characters"),
])
async def test_bad_input_is_refused_and_starts_nothing(api, demo, temporal, change, path, says):
    cycle, leads = await _setup(api, demo)
    body = _write(leads, "bad-input") | change
    # As JSON escapes it: a lone surrogate is valid JSON text, not valid UTF-8.
    response = await api.post(TOOL_CALLS, content=json.dumps(body),
                              headers={**cycle.headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["Errors"]
    assert error["Path"] == path and says in error["Message"], error
    assert (await cycle.call("GET", TOOL_CALLS)).json()["Total"] == 0
    with pytest.raises(RPCError) as raised:
        await _handle(temporal, cycle, call_id(cycle.account_id, body["Key"])).describe()
    assert raised.value.status == RPCStatusCode.NOT_FOUND
    assert await _lead_requests(cycle) == []
