"""Acceptance (issue 17, point 10): `cyclewright connector install NAME` loads a catalog connector
into a running product (through the API's catalog route), once; `connector list` lists them. The
catalog's Slack, installed so, takes Events API events at its partner webhook URL, each routed to
the workspace its post-install lookup (auth.test's team_id) named."""

from __future__ import annotations

import asyncio
import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from cli import app as cli
from connectors.catalog import entries
from tests.conftest import ThreadedServer
from tests.e2e.test_partner_webhooks import SECRET, recorded, slack_headers
from tests.walkthrough import Installed, eventually


def cyclewright(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"CYCLEWRIGHT_CLIENT_ID": "test-client",
                                                      "CYCLEWRIGHT_CLIENT_SECRET": "test-secret"})
    return result.exit_code, result.output


def test_connector_list_names_each_catalog_connector_with_its_auth_and_paging():
    code, output = cyclewright("connector", "list")
    assert code == 0, output
    assert len(entries()) >= 12
    for name, entry in entries().items():
        assert f"{name} — {entry.connector.Name} {entry.connector.Version}" in output
    assert "github — GitHub" in output and "paging: next_url" in output


async def test_connector_install_loads_one_into_the_running_product_once(api, api_url):
    listed = {e["Name"]: e for e in (await api.get("/v1.0/catalog")).json()}
    assert set(listed) == set(entries()) and listed["slack"]["InstalledId"] is None

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slack", "--api-url", api_url)
    assert code == 0 and "Slack 2.0: installed (Live)" in output, output
    connectors = {c["Name"]: c for c in (await api.get("/v1.0/connectors")).json()}
    assert connectors["Slack"]["ReleaseStatus"] == "Live"
    methods = {m["UniqueIdentifier"] for m in (await api.get(f"/v1.0/connectors/{connectors['Slack']['Id']}/methods")).json()}
    assert methods == {m.UniqueIdentifier for m in entries()["slack"].connector.Methods}
    assert (await api.get("/v1.0/catalog")).json()[[e["Name"] for e in listed.values()].index("slack")]["InstalledId"] \
        == connectors["Slack"]["Id"]

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slack", "--api-url", api_url)
    assert code == 0 and "Slack 2.0: already installed" in output, output
    assert len((await api.get(f"/v1.0/connectors/{connectors['Slack']['Id']}/releases")).json()) == 1

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slak", "--api-url", api_url)
    assert code == 1 and "404 catalog connector 'slak' was not found" in output, output
    response = await api.post("/v1.0/catalog/slak/install")
    assert response.status_code == 404 and response.json()["Message"] == "catalog connector 'slak' was not found"


TEAMS = {"xoxb-one": "T0001", "xoxb-two": "T0002"}  # each bot token's workspace


async def auth_test(request: Request) -> JSONResponse:
    """Slack's auth.test, as Slack answers it: the token's workspace, or ok false."""
    team = TEAMS.get(request.headers.get("authorization", "").removeprefix("Bearer "))
    if team is None:
        return JSONResponse({"ok": False, "error": "invalid_auth"})
    return JSONResponse({"ok": True, "url": "https://example.slack.com/", "team": f"Team {team}", "user": "bot",
                         "team_id": team, "user_id": "U0001"})


async def test_slacks_events_reach_the_workspace_its_lookup_named(api):
    installed = await api.post("/v1.0/catalog/slack/install")  # 200 when the test above installed it
    assert installed.status_code in (200, 201), installed.text
    connector = installed.json()["Id"]
    template = await api.post("/v1.0/templates", json={"Name": "Slack events", "Steps": [
        {"Id": "event", "Type": "Webhook", "Connector": "Slack", "Method": "event"}]})
    assert template.status_code == 201, template.text
    webhook = await api.put(f"/v1.0/connectors/{connector}/webhook", json={"Secret": SECRET})
    assert webhook.status_code == 200 and webhook.json()["Signature"] == "SlackV0", webhook.text
    url = webhook.json()["WebhookUrl"]

    cycles = {}
    with ThreadedServer(Starlette(routes=[Route("/auth.test", auth_test, methods=["GET", "POST"])])) as slack_api:
        for token, team in TEAMS.items():
            account = (await api.post("/v1.0/accounts", json={"Name": f"Workspace {team}"})).json()
            owner = Installed(api, account["Id"], {}, "")
            made = await owner.call("POST", "/v1.0/account/connectors", json={
                "ConnectorId": connector, "AuthenticationId": "Bot token", "AuthValue": token, "Properties": [{"Name": "BaseUrl", "Value": slack_api.url}]})
            assert made.status_code == 201, made.text
            view = (await owner.call("GET", f"/v1.0/account/connectors/{made.json()['Id']}")).json()
            assert "TeamId" in view["Properties"] and view["Status"] == "Verified", str(view)  # filled by the lookup
            cycle = await owner.call("POST", f"/v1.0/templates/{template.json()['Id']}/install", json={})
            assert cycle.status_code == 201, cycle.text
            cycles[team] = Installed(api, account["Id"], cycle.json(), "")
            assert (await cycles[team].activate()).status_code == 200

    async with httpx.AsyncClient() as slack:
        challenge = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"}).encode()
        response = await slack.post(url, content=challenge, headers=slack_headers(challenge))
        assert response.status_code == 200 and response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
        for n, team in enumerate(("T0002", "T0001", "T0002", "T0003")):
            event = json.dumps({"type": "event_callback", "team_id": team, "event_id": f"Ev{n}", "event": {
                "type": "message", "channel": "C0001", "user": "U0002", "text": f"hello {n}", "ts": f"{n}.0001"}}).encode()
            response = await slack.post(url, content=event, headers=slack_headers(event))
            assert response.status_code == 202, response.text
            assert response.json()["Queued"] == (0 if team == "T0003" else 1), response.text

    async def taken() -> bool:
        return [len(await recorded(c)) for c in cycles.values()] == [1, 2]
    await eventually(taken, "the events in their workspaces' cycles")
    assert [r["Text"] for r in await recorded(cycles["T0001"])] == ["hello 1"]
    assert sorted(r["Text"] for r in await recorded(cycles["T0002"])) == ["hello 0", "hello 2"]
    assert {r["TeamId"] for r in await recorded(cycles["T0002"])} == {"T0002"}
