"""Acceptance (issue 17, point 9, the partner webhook): one URL per connector for every account,
as HubSpot, Slack and Shopify apps register one webhook for all their installs. Events for two
accounts, posted together and apart, each reach only its own account's cycle; an event matching
no account is answered and counted; the vendor's signature and handshake are checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx

from tests.templating import transactions
from tests.walkthrough import Installed, eventually

SECRET = "partner-app-signing-secret"
PORTALS = {
    "Name": "Demo Portal Events", "Version": "1.0",
    "Authentication": [{"Name": "API key", "AuthType": "ApiKey", "ApiKeyName": "X-Api-Key", "IsDefault": True}],
    "Parameters": [{"Name": name, "TargetType": "MergeField", "IsAccountConnectorProperty": True}
                   for name in ("BaseUrl", "PortalId")],
    # As HubSpot's: an array of events, each naming its portal; Shopify's HMAC of the body, in base64.
    "PartnerWebhook": {"AccountProperty": "PortalId", "AccountField": "portalId",
                       "Signature": {"Scheme": "HmacSha256", "Header": "X-Portal-Signature", "Encoding": "Base64"}},
    "Methods": [{"UniqueIdentifier": "contact-created", "Name": "Contact created", "MethodType": "Webhook",
                 "HttpMethod": "Post", "Endpoint": "{{BaseUrl}}/hooks",
                 "ResponseFormat": {"Fields": [{"ConnectorField": "objectId", "SystemField": "ContactId"},
                                               {"ConnectorField": "portalId", "SystemField": "PortalId"}]}}],
}
SLACK_HANDSHAKE = """
function before_webhook() {
  if (method_request.type === 'url_verification') {
    method_response = {challenge: method_request.challenge};
    return false;
  }
}
"""
SLACK = {
    "Name": "Demo Slack Events", "Version": "1.0", "Script": SLACK_HANDSHAKE,
    "Authentication": [{"Name": "Bot token", "AuthType": "Bearer", "IsDefault": True}],
    "Parameters": [{"Name": "TeamId", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "PartnerWebhook": {"AccountProperty": "TeamId", "AccountField": "team_id", "Signature": {"Scheme": "SlackV0"}},
    "Methods": [{"UniqueIdentifier": "message-posted", "Name": "Message posted", "MethodType": "Webhook",
                 "HttpMethod": "Post", "Endpoint": "https://slack.example/unused",
                 "ResponseFormat": {"Fields": [{"ConnectorField": "event.text", "SystemField": "Text"}]}}],
}


def portal_signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def slack_headers(body: bytes, at: float | None = None) -> dict[str, str]:
    """What Slack sends: X-Slack-Request-Timestamp, and X-Slack-Signature v0 over it and the body."""
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/json"}


async def account_with_cycle(api: httpx.AsyncClient, connector: dict, template_id: str, name: str,
                             properties: dict[str, str], activate: bool = True) -> Installed:
    """An account with the connector installed (these properties) and the template as a cycle."""
    account = (await api.post("/v1.0/accounts", json={"Name": name})).json()
    owner = Installed(api, account["Id"], {}, "")
    installed = await owner.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector["Id"], "AuthValue": "key",
        "Properties": [{"Name": k, "Value": v} for k, v in properties.items()]})
    assert installed.status_code == 201, installed.text
    cycle = await owner.call("POST", f"/v1.0/templates/{template_id}/install", json={})
    assert cycle.status_code == 201, cycle.text
    installed_cycle = Installed(api, account["Id"], cycle.json(), "")
    if activate:
        response = await installed_cycle.activate()
        assert response.status_code == 200, response.text
    return installed_cycle


async def set_up(api: httpx.AsyncClient, document: dict) -> tuple[dict, str, str]:
    """The connector, a template of one Webhook step of its one method, and its partner webhook URL."""
    connector = (await api.post("/v1.0/connectors", json=document)).json()
    template = await api.post("/v1.0/templates", json={"Name": f"{document['Name']} events", "Steps": [
        {"Id": "event", "Type": "Webhook", "Connector": document["Name"],
         "Method": document["Methods"][0]["UniqueIdentifier"]}]})
    assert template.status_code == 201, template.text
    webhook = await api.put(f"/v1.0/connectors/{connector['Id']}/webhook", json={"Secret": SECRET})
    assert webhook.status_code == 200, webhook.text
    assert webhook.json()["SecretSet"] and webhook.json()["Signature"] == document["PartnerWebhook"]["Signature"]["Scheme"]
    return connector, template.json()["Id"], webhook.json()["WebhookUrl"]


async def recorded(cycle: Installed) -> list[dict]:
    return [t["Records"]["event"] for t in await transactions(cycle)]


async def unmatched_count(api: httpx.AsyncClient, connector: str) -> float:
    text = (await api.get("/metrics")).text
    line = f'cyclewright_partner_webhook_events_total{{connector="{connector}",outcome="unmatched"}} '
    return next((float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line)), 0.0)


async def test_one_url_routes_each_event_to_its_own_accounts_cycle(api):
    connector, template, url = await set_up(api, PORTALS)
    first = await account_with_cycle(api, connector, template, "Portal 101", {"BaseUrl": "https://a", "PortalId": "101"})
    second = await account_with_cycle(api, connector, template, "Portal 202", {"BaseUrl": "https://b", "PortalId": "202"})
    await account_with_cycle(api, connector, template, "Portal 303", {"BaseUrl": "https://c", "PortalId": "303"},
                             activate=False)
    before = await unmatched_count(api, PORTALS["Name"])

    batch = json.dumps([{"portalId": 101, "objectId": 1}, {"portalId": 202, "objectId": 2},
                        {"portalId": 101, "objectId": 3}, {"portalId": 999, "objectId": 4},
                        {"portalId": 303, "objectId": 5}, {"objectId": 6}]).encode()
    async with httpx.AsyncClient() as vendor:
        forged = await vendor.post(url, content=batch, headers={"X-Portal-Signature": portal_signature(batch, "guess")})
        assert forged.status_code == 401, forged.text
        assert forged.json()["Errors"] == [{"Path": "X-Portal-Signature", "Message": "does not match the body"}]
        unsigned = await vendor.post(url, content=batch)
        assert unsigned.status_code == 401 and "is missing" in unsigned.json()["Message"], unsigned.text

        response = await vendor.post(url, content=batch, headers={"X-Portal-Signature": portal_signature(batch)})
        assert response.status_code == 202, response.text
        assert response.json() == {"Status": "Accepted", "Events": 6, "Queued": 3, "Unmatched": [
            {"Path": "$[3]", "Message": "no account connector has PortalId '999'"},
            {"Path": "$[4]", "Message": "no cycle of the account with PortalId '303' takes events now"},
            {"Path": "$[5]", "Message": "the event has no value at portalId"}]}
        one = json.dumps({"portalId": "202", "objectId": 7}).encode()  # one event, its id as text
        response = await vendor.post(url, content=one, headers={"X-Portal-Signature": portal_signature(one)})
        assert response.status_code == 202 and response.json()["Queued"] == 1, response.text

    # Every event queued is taken (2 + 2 of the 4 queued), and each cycle has only its own.
    async def taken() -> bool:
        return len(await recorded(first)) == 2 and len(await recorded(second)) == 2
    await eventually(taken, "the events in their cycles")
    assert sorted(r["ContactId"] for r in await recorded(first)) == ["1", "3"]
    assert sorted(r["ContactId"] for r in await recorded(second)) == ["2", "7"]
    assert {r["PortalId"] for r in await recorded(first)} == {"101"}
    assert {r["PortalId"] for r in await recorded(second)} == {"202"}
    assert await unmatched_count(api, PORTALS["Name"]) == before + 3


async def test_slacks_handshake_signature_and_replay(api):
    connector, template, url = await set_up(api, SLACK)
    team = await account_with_cycle(api, connector, template, "Team T1", {"TeamId": "T1"})
    other = await account_with_cycle(api, connector, template, "Team T2", {"TeamId": "T2"})
    async with httpx.AsyncClient() as slack:
        challenge = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"}).encode()
        response = await slack.post(url, content=challenge, headers=slack_headers(challenge))
        assert response.status_code == 200 and response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}

        event = json.dumps({"type": "event_callback", "team_id": "T1",
                            "event": {"type": "message", "text": "hello"}}).encode()
        stale = await slack.post(url, content=event, headers=slack_headers(event, at=time.time() - 3600))
        assert stale.status_code == 401 and "X-Slack-Request-Timestamp" in stale.json()["Message"], stale.text
        headers = slack_headers(event)
        response = await slack.post(url, content=event, headers=headers)
        assert response.status_code == 202 and response.json()["Queued"] == 1, response.text
        replay = await slack.post(url, content=event, headers=headers)
        assert replay.status_code == 409, replay.text

    async def taken() -> list[dict]:
        return await recorded(team)
    assert await eventually(taken, "the message in team T1's cycle") == [{"Text": "hello"}]
    assert await recorded(other) == []


SHOP_DOMAIN = """
function before_webhook() {
  method_request = {shop: method_request_headers['x-shopify-shop-domain'], order: method_request};
}
"""
SHOPS = {
    "Name": "Demo Shop Events", "Version": "1.0", "Script": SHOP_DOMAIN,
    "Authentication": [{"Name": "Token", "AuthType": "ApiKey", "ApiKeyName": "X-Shopify-Access-Token",
                        "IsDefault": True}],
    "Parameters": [{"Name": "Shop", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    # As Shopify's: the shop is named in a header, not in the order: the script puts it in the event.
    "PartnerWebhook": {"AccountProperty": "Shop", "AccountField": "shop", "Signature": {
        "Scheme": "HmacSha256", "Header": "X-Shopify-Hmac-Sha256", "Encoding": "Base64"}},
    "Methods": [{"UniqueIdentifier": "order-created", "Name": "Order created", "MethodType": "Webhook",
                 "HttpMethod": "Post", "Endpoint": "https://{{Shop}}/admin/unused",
                 "ResponseFormat": {"Fields": [{"ConnectorField": "order.id", "SystemField": "OrderId"},
                                               {"ConnectorField": "shop", "SystemField": "Shop"}]}}],
}


async def test_a_before_webhook_script_names_the_account_from_a_header(api):
    connector, template, url = await set_up(api, SHOPS)
    cycles = {shop: await account_with_cycle(api, connector, template, shop, {"Shop": shop})
              for shop in ("one.myshopify.com", "two.myshopify.com")}
    async with httpx.AsyncClient() as shopify:
        for shop, order in (("two.myshopify.com", 1), ("one.myshopify.com", 2), ("two.myshopify.com", 3)):
            body = json.dumps({"id": order, "total_price": "10.00"}).encode()
            response = await shopify.post(url, content=body, headers={
                "X-Shopify-Hmac-Sha256": portal_signature(body), "X-Shopify-Shop-Domain": shop})
            assert response.status_code == 202 and response.json()["Queued"] == 1, response.text

    async def taken() -> bool:
        return [len(await recorded(c)) for c in cycles.values()] == [1, 2]
    await eventually(taken, "the orders in their shops' cycles")
    assert await recorded(cycles["one.myshopify.com"]) == [{"OrderId": "2", "Shop": "one.myshopify.com"}]
    assert sorted(r["OrderId"] for r in await recorded(cycles["two.myshopify.com"])) == ["1", "3"]
