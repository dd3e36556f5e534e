"""Acceptance (issue 15, points 2, 3 and 4): hostile input stalls no one.

A pattern that makes a backtracking engine run for ever answers while another account's webhook
cycle goes on; a pattern RE2 does not take, and a template past its limits, are refused naming
where; JSON nested too deeply is a clear error wherever it comes from (an upstream, a script,
an API body, an OpenAPI document) and is never retried.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import yaml
from fastapi import FastAPI, Request, Response

from connectors.nesting import MAX_DEPTH
from store.template_spec import MAX_MAPPINGS, MAX_STEPS
from tests.conftest import ThreadedServer
from tests.e2e.test_webhooks import webhook_url
from tests.templating import install_template, storage, transactions
from tests.walkthrough import catalog_document, eventually, import_openapi, install_demo_cycle

DEEP = "[" * 200_000 + "]" * 200_000  # as deep as the issue's: far past Python's recursion limit
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels (the limit)"

PATTERN_TEMPLATE = {"Name": "A pathological pattern", "Steps": [
    {"Id": "event", "Type": "Webhook", "Next": "all a?"},
    {"Id": "all a?", "Type": "Decision", "TrueNext": "matched", "FalseNext": "unmatched", "Condition": {
        "Left": {"MappingType": "StepField", "SourceStep": "event", "SourceField": "text"},
        "Operator": "Matches", "Right": {"MappingType": "StaticValue", "Value": "^(a+)+$"}}},
    {"Id": "matched", "Type": "Storage", "Operation": "Increment", "Key": "matched", "Next": "lead"},
    {"Id": "unmatched", "Type": "Storage", "Operation": "Increment", "Key": "unmatched", "Next": "lead"},
    {"Id": "lead", "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
        {"Field": "Email", "MappingType": "StepField", "SourceStep": "event", "SourceField": "email"},
        {"Field": "Source", "MappingType": "StaticValue", "Value": "pattern"}]},
]}
COUNTING_TEMPLATE = {"Name": "Events counted", "Steps": [
    {"Id": "event", "Type": "Webhook", "Next": "count"},
    {"Id": "count", "Type": "Storage", "Operation": "Increment", "Key": "events"},
]}


async def has(value, expected) -> bool:
    return (await value) == expected


async def test_a_pathological_pattern_answers_while_another_accounts_webhook_cycle_goes_on(api, demo):
    other = await install_template(api, demo.url, COUNTING_TEMPLATE)  # an account of its own
    cycle = await install_template(api, demo.url, PATTERN_TEMPLATE)
    assert other.account_id != cycle.account_id
    await cycle.demo("hold")  # the pattern's run stays in progress, its leads held at the demo
    for each in (other, cycle):
        assert (await each.activate()).status_code == 200
    async with httpx.AsyncClient(timeout=30) as client:
        async def post(to, body: dict) -> None:
            response = await client.post(webhook_url(to), json=body)
            assert response.status_code == 202, response.text

        for n in range(10):
            await post(other, {"n": n})
        await eventually(lambda: has(storage(other), {"events": 10}), "the other cycle's first events")
        # Python's re tries every way to split the a's among the groups: 2**100,000 of them.
        await post(cycle, {"text": "a" * 100_000 + "!", "email": "bang@example.com"})
        await post(cycle, {"text": "a" * 100_000, "email": "plain@example.com"})
        for n in range(10, 20):
            await post(other, {"n": n})
        await eventually(lambda: has(storage(other), {"events": 20}), "the other cycle's later events")
        await eventually(lambda: has(storage(cycle), {"matched": 1, "unmatched": 1}), "both answers")
    # The premise: the pattern's run was in progress all along (its leads wait at the demo).
    assert {r["Status"] for r in await cycle.runs()} == {"Running"}
    assert (await cycle.demo_stats())["lead_requests"] >= 1
    routes = {t["Records"]["event"]["email"]: t["Path"] for t in await transactions(cycle)}
    assert routes == {"bang@example.com": ["event", "all a?", "unmatched", "lead"],
                      "plain@example.com": ["event", "all a?", "matched", "lead"]}
    await cycle.demo("release")
    await eventually(lambda: _leads(cycle, 2), "the held leads")
    for each in (other, cycle):
        await each.deactivate()


async def _leads(cycle, count: int) -> bool:
    return (await cycle.demo_stats())["distinct_emails"] == count


def decision_template(pattern: dict[str, Any]) -> dict:
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"] = f"Matches {pattern}"
    template["Steps"][0]["Next"] = "wanted?"
    template["Steps"].insert(1, {"Id": "wanted?", "Type": "Decision", "TrueNext": "lead", "Condition": {
        "Left": {"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
        "Operator": "Matches", "Right": pattern}})
    return template


async def test_a_pattern_re2_does_not_take_is_a_422_naming_where_it_was_written(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    before = len((await api.get("/v1.0/templates")).json())
    for pattern, why in (("(unclosed", "missing )"), ("(?<=@)example", "invalid perl operator: (?<")):
        response = await api.post("/v1.0/templates", json=decision_template(
            {"MappingType": "StaticValue", "Value": pattern}))
        assert response.status_code == 422, response.text
        (error,) = response.json()["Errors"]
        assert error["Path"] == "$.Steps[1].Condition.Right" and why in error["Message"], error
    assert len((await api.get("/v1.0/templates")).json()) == before  # nothing saved

    response = await api.post("/v1.0/templates", json=decision_template({"MappingType": "Variable",
                                                                         "Variable": "Wanted"}))
    assert response.status_code == 201, response.text
    installed = await api.post(f"/v1.0/templates/{response.json()['Id']}/install", headers=cycle.headers, json={})
    assert installed.status_code == 201, installed.text
    variable = f"/v1.0/cycles/{installed.json()['Id']}/variables/Wanted"
    for path in (variable, "/v1.0/account/variables/Wanted"):
        response = await cycle.call("PUT", path, json={"Value": "(a)\\1"})
        assert response.status_code == 422, response.text
        (error,) = response.json()["Errors"]
        assert error["Path"] == "$.Value" and "the Matches pattern of step 'wanted?'" in error["Message"]
        assert "invalid escape sequence" in error["Message"]
    assert (await cycle.call("GET", "/v1.0/account/variables")).json() == []
    assert (await cycle.call("PUT", variable, json={"Value": "@example\\.com$"})).status_code == 200


async def test_a_template_past_a_limit_is_a_422_naming_the_limit(api):
    steps = [{"Id": "event", "Type": "Webhook", "Next": "d1"}]
    steps += [{"Id": f"d{i}", "Type": "Delay", "Seconds": 1, **({"Next": f"d{i + 1}"} if i < 4_999 else {})}
              for i in range(1, 5_000)]
    before = len((await api.get("/v1.0/templates")).json())
    response = await api.post("/v1.0/templates", json={"Name": "Five thousand steps", "Steps": steps})
    assert response.status_code == 422, response.text
    assert response.json()["Errors"] == [
        {"Path": "$.Steps", "Message": f"a template has at most {MAX_STEPS:,} steps; this one has 5,000"}]

    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Steps"][1]["FieldMappings"] = [{"Field": f"F{i}", "MappingType": "Ignore"}
                                             for i in range(MAX_MAPPINGS + 1)]
    response = await api.post("/v1.0/templates", json=template)
    assert response.status_code == 422, response.text
    assert response.json()["Errors"] == [{"Path": "$.Steps[1].FieldMappings", "Message": (
        f"a step has at most {MAX_MAPPINGS} field mappings; this one has {MAX_MAPPINGS + 1}")}]
    assert len((await api.get("/v1.0/templates")).json()) == before


def deep_upstream(seen: Counter) -> FastAPI:
    """Credentials pass; contacts and new leads come back 200,000 levels deep."""
    app = FastAPI()

    @app.middleware("http")
    async def count(request: Request, call_next):
        seen[request.url.path] += 1
        return await call_next(request)

    @app.get("/whoami/{service}")
    def whoami(service: str) -> dict:
        return {"service": service}

    @app.get("/crm/contacts")
    def contacts() -> Response:
        return Response(DEEP, media_type="application/json")

    @app.post("/leads/contacts")
    def create_lead() -> Response:
        return Response(DEEP, status_code=201, media_type="application/json")

    return app


async def account_connector(cycle, name: str) -> str:
    connector = next(c["Id"] for c in (await cycle.api.get("/v1.0/connectors")).json() if c["Name"] == name)
    return next(row["Id"] for row in (await cycle.call("GET", "/v1.0/account/connectors")).json()
                if row["ConnectorId"] == connector)


async def test_deep_json_from_an_upstream_is_a_422_on_demand_and_fails_a_run_once(api, demo):
    seen: Counter = Counter()
    with ThreadedServer(deep_upstream(seen)) as deep:
        cycle = await install_demo_cycle(api, demo.url, contacts=2, base_urls={"Demo CRM": deep.url})
        crm = await account_connector(cycle, "Demo CRM")
        response = await cycle.call("POST", f"/v1.0/account/connectors/{crm}/methods/list-contacts", json={})
        assert response.status_code == 422, response.text
        assert response.json()["Errors"] == [
            {"Path": "upstream", "Message": f"Demo CRM list-contacts: the response body is {TOO_DEEP}"}]

        assert (await cycle.activate(RunOnce=True)).status_code == 200
        (run,) = await cycle.wait_for_runs(1, status="Failed")
        assert f"the response body is {TOO_DEEP}" in run["Message"] and "List contacts" in run["Message"]
        assert seen["/crm/contacts"] == 2  # the call on demand, and the run's one try: never retried


async def test_deep_json_from_an_upstream_errors_its_transactions_once(api, demo):
    seen: Counter = Counter()
    with ThreadedServer(deep_upstream(seen)) as deep:
        cycle = await install_demo_cycle(api, demo.url, contacts=3, base_urls={"Demo Leads": deep.url})
        assert (await cycle.activate(RunOnce=True)).status_code == 200
        (run,) = await cycle.wait_for_runs(1)
        assert run["Transactions"] == {"Success": 0, "Errored": 3, "Stopped": 0}
        errored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                    params={"status": "Errored"})).json()
        assert {t["Message"] for t in errored} == {
            f"step 'Create lead': Demo Leads create-lead: the response body is {TOO_DEEP}"}
        assert seen["/leads/contacts"] == 3  # one call a transaction: never retried


async def test_deep_json_from_a_script_errors_its_transactions_once(api, demo):
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"] = "A script's deep answer"
    template["Steps"][1]["Script"] = ("function after_action() {\n  var o = [];\n"
                                      "  for (var i = 0; i < 200000; i++) o = [o];\n  method_response = o;\n}")
    template["Steps"][1]["FieldMappings"][2] = {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}
    cycle = await install_template(api, demo.url, template, contacts=2)
    assert (await cycle.activate(RunOnce=True)).status_code == 200
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 0, "Errored": 2, "Stopped": 0}
    errored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                params={"status": "Errored"})).json()
    assert {t["Message"] for t in errored} == {
        f"step 'Create lead': Demo Leads create-lead: what the step script's after_action left is {TOO_DEEP}"}
    assert (await cycle.demo_stats())["lead_requests"] == 2  # each sent once: never retried


async def test_deep_json_in_any_api_body_is_a_422_before_any_route_reads_it(api, api_url):
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    refusal = {"Message": "The request is invalid.",
               "Errors": [{"Path": "$", "Message": f"the request body is {TOO_DEEP}"}]}
    routes = (await api.get("/openapi.json")).json()["paths"]
    checked = []
    for path, operations in routes.items():
        for verb, operation in operations.items():
            reads_json = "application/json" in (operation.get("requestBody") or {}).get("content", {})
            if not reads_json and not path.startswith("/v1.0/webhooks/"):  # it reads its body itself
                continue
            url = path.replace("{", "").replace("}", "")  # any id: the body is refused first
            for body in (too_deep, "[" * 100_000 + "]" * 100_000):  # within 256 KiB, past recursion
                response = await api.request(verb, url, content=body, headers={"Content-Type": "application/json"})
                assert (response.status_code, response.json()) == (422, refusal), (verb, path, response.text)
            checked.append(f"{verb.upper()} {path}")
    assert "POST /v1.0/webhooks/{webhook_id}" in checked and "POST /v1.0/templates" in checked
    assert len(checked) > 20
    for path in ("/v1.0/templates", "/v1.0/connectors"):  # their limits take the 200,000 levels
        response = await api.post(path, content=DEEP, headers={"Content-Type": "application/json"})
        assert (response.status_code, response.json()) == (422, refusal), response.text


async def test_a_deep_webhook_event_sent_as_text_is_refused_by_its_route(api, demo):
    cycle = await install_template(api, demo.url, COUNTING_TEMPLATE)
    assert (await cycle.activate()).status_code == 200
    async with httpx.AsyncClient() as client:
        response = await client.post(webhook_url(cycle), content="[" * 100_000 + "]" * 100_000,
                                     headers={"Content-Type": "text/plain"})
    assert response.status_code == 422, response.text
    assert response.json()["Errors"] == [{"Path": "$", "Message": f"the event is {TOO_DEEP}"}]
    await cycle.deactivate()


OPENAPI = {"openapi": "3.0.3", "info": {"title": "Hostile", "version": "1"}, "paths": {"/things": {"get": {
    "operationId": "things", "responses": {"200": {"description": "ok", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/A"}}}}}}}},
    "components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}}}


async def test_an_openapi_import_too_deep_is_refused_and_a_loop_of_refs_is_reported(api):
    import_url = "/v1.0/connectors/import/openapi?baseUrl=https://api.example.com"
    deep_json = '{"openapi": "3.0.3", "info": {"title": "Deep", "version": "1"}, "paths": {}, "x-deep": ' \
        + "[" * 200_000 + "]" * 200_000 + "}"
    response = await api.post(import_url, content=deep_json, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text  # at the door, as every JSON body
    assert response.json()["Errors"] == [{"Path": "$", "Message": f"the request body is {TOO_DEEP}"}]
    deep_yaml = "openapi: 3.0.3\ninfo: {title: Deep, version: '1'}\npaths: {}\nx-deep: " \
        + "[" * 100_000 + "]" * 100_000 + "\n"
    job = await import_openapi(api, deep_yaml, "application/yaml", baseUrl="https://api.example.com")
    assert (job["Status"], job["Errors"]) == ("Failed", [{"Path": "$", "Message": f"the OpenAPI document is {TOO_DEEP}"}])

    job = await import_openapi(api, yaml.safe_dump(OPENAPI), "application/yaml", baseUrl="https://api.example.com")
    assert job["Status"] == "Succeeded", job
    (loop,) = [s for s in job["Skipped"] if s["Message"].startswith("a loop of $refs")]
    assert loop["Path"] in ("#/components/schemas/A", "#/components/schemas/B")
    assert "#/components/schemas/A → #/components/schemas/B" in loop["Message"] \
        or "#/components/schemas/B → #/components/schemas/A" in loop["Message"]