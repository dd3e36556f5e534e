"""Errors that name the right party (issue 15): a connector script that fails is a script error,
not the upstream's: 422 `script failed: …` from data on demand, and in a run an Errored
transaction (or a Failed run, at the trigger) naming the step, the script and its event; and a
script stopped at its time limit leaves the API's log clean (no "Event loop is closed")."""

from __future__ import annotations

import copy

import httpx

from demo.app import LEDGER_SECRET
from tests.conftest import DATA_DIR, partner_client
from tests.templating import create_lead, field, install_template, run_once, transactions
from tests.walkthrough import catalog_document

THROWING = "function after_action() {\n  var rows = 0;\n  throw new Error('no rows today: ' + rows);\n}"
ENDLESS = "function before_action() {\n  while (true) {}\n}"
TIMEOUTS = 8  # each closed isolate had an even chance of the noise: all eight clean is no luck


def ledger(name: str, method_script: str) -> dict:
    """The demo ledger connector under another name, its list-entries method with this script."""
    document = copy.deepcopy(catalog_document("connectors", "demo-ledger.json"))
    document["Name"] = name
    document["Methods"][0]["Script"] = method_script
    return document


async def ledger_account(api: httpx.AsyncClient, demo_url: str, document: dict) -> tuple[dict[str, str], str]:
    """An account with the connector installed: its headers and the account connector's path."""
    uploaded = await api.post("/v1.0/connectors", json=document)
    assert uploaded.status_code == 201, uploaded.text
    account = (await api.post("/v1.0/accounts", json={"Name": document["Name"]})).json()["Id"]
    headers = {"X-Account-Id": account}
    installed = await api.post("/v1.0/account/connectors", headers=headers, json={
        "ConnectorId": uploaded.json()["Id"], "AuthValue": LEDGER_SECRET,
        "Properties": [{"Name": "BaseUrl", "Value": demo_url}]})
    assert installed.status_code == 201, installed.text
    return headers, f"/v1.0/account/connectors/{installed.json()['Id']}"


async def test_a_failing_script_answers_422_script_failed_on_demand(api, demo):
    headers, path = await ledger_account(api, demo.url, ledger("Ledger with a throwing script", THROWING))
    response = await api.post(f"{path}/methods/list-entries", headers=headers, json={})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["Message"] == "script failed: the method script's after_action failed at line 3: Error: no rows today: 0"
    assert body["Errors"] == [{"Path": "script", "Message": "Ledger with a throwing script list-entries: "
                                                            "the method script's after_action failed at line 3: "
                                                            "Error: no rows today: 0"}]
    # The premise: the upstream answered (the script failed on its answer), and the same call
    # without that script succeeds.
    async with httpx.AsyncClient() as client:
        listed = (await client.get(f"{demo.url}/admin/requests", params={"prefix": "/ledger/entries"})).json()
    assert listed
    headers, path = await ledger_account(api, demo.url, ledger("Ledger without a throwing script", ""))
    assert (await api.post(f"{path}/methods/list-entries", headers=headers, json={})).status_code == 200


async def test_a_failing_script_in_a_run_is_a_script_error_naming_step_script_and_event(api, demo):
    refuses_second = ("function before_action() {\n"
                      "  if (method_request.email === 'second@example.com') throw new Error('not this one');\n"
                      "}")
    step_fails = await install_template(api, demo.url, {"Name": "A step script that throws", "Steps": [
        {"Id": "entries", "Name": "List entries", "Connector": "Demo Ledger", "Method": "list-entries",
         "Next": "lead"},
        create_lead(field("entries", "Email"), Script=refuses_second)]})
    run = await run_once(step_fails)
    assert run["Status"] == "Succeeded" and run["Transactions"] == {"Success": 1, "Errored": 1, "Stopped": 0}
    errored = next(t for t in await transactions(step_fails) if t["Status"] == "Errored")
    assert errored["Message"] == ("step 'Create lead': Demo Leads create-lead: the step script's before_action "
                                  "failed at line 2: Error: not this one")
    assert (await step_fails.demo_stats())["leads_created"] == 1  # the other went through

    trigger_fails = await install_template(api, demo.url, {"Name": "A trigger script that throws", "Steps": [
        {"Id": "entries", "Name": "List entries", "Connector": "Demo Ledger", "Method": "list-entries",
         "Script": THROWING}]})
    run = await run_once(trigger_fails)
    assert run["Status"] == "Failed", run
    assert run["Message"] == ("step 'List entries': Demo Ledger list-entries: the step script's after_action "
                              "failed at line 3: Error: no rows today: 0")


async def test_script_timeouts_leave_the_api_log_clean(demo, private_stack):
    stack = private_stack(CYCLEWRIGHT_SCRIPT_SECONDS="0.5")
    async with partner_client(stack.api_url) as api:
        headers, path = await ledger_account(api, demo.url, ledger("Ledger with an endless script", ENDLESS))
        for _ in range(TIMEOUTS):
            response = await api.post(f"{path}/methods/list-entries", headers=headers, json={})
            assert response.status_code == 422, response.text
            assert response.json()["Message"] == ("script failed: the method script's before_action did not "
                                                  "finish within 0.5 s")
        # Isolates go on serving calls after the timeouts.
        headers, path = await ledger_account(api, demo.url, ledger("Ledger beside an endless script", ""))
        assert (await api.post(f"{path}/methods/list-entries", headers=headers, json={})).status_code == 200
    stack.processes[-1].stop()  # the API: all it had to say is in its log once it has shut down
    log = (DATA_DIR / f"{stack.name}-api.log").read_text()
    # The premise: this is the log of the API that served the timeouts, to its end.
    assert log.count('/methods/list-entries HTTP/1.1" 422') == TIMEOUTS and "Finished server process" in log, log
    assert "Event loop is closed" not in log and "Traceback" not in log and "Exception ignored" not in log, log


async def test_a_failing_script_leaves_credentials_unverified_rather_than_refused(api, demo):
    """The AuthTestMethod's script failing says nothing of the credentials: they are saved,
    not verified, and the reason names the script."""
    document = ledger("Ledger whose test method's script throws", THROWING)
    document["AuthTestMethod"] = "list-entries"
    document["Authentication"] = [{"Name": "Signing secret", "AuthType": "ApiKey", "ApiKeyLocation": "Header",
                                   "ApiKeyName": "X-Unused", "IsDefault": True}]
    uploaded = await api.post("/v1.0/connectors", json=document)
    assert uploaded.status_code == 201, uploaded.text
    account = (await api.post("/v1.0/accounts", json={"Name": document["Name"]})).json()["Id"]
    installed = await api.post("/v1.0/account/connectors", headers={"X-Account-Id": account}, json={
        "ConnectorId": uploaded.json()["Id"], "AuthValue": LEDGER_SECRET,
        "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert installed.status_code == 201, installed.text
    assert installed.json()["Status"] == "CredentialsSet"
    assert installed.json()["StatusReason"] == (
        "NotVerified: the connector's AuthTestMethod 'list-entries' could not complete (script failed: "
        "the method script's after_action failed at line 3: Error: no rows today: 0)")
