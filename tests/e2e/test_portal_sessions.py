"""Acceptance (issue 18, points 3 and 5): a portal session's token acts for its account only,
on the portal's routes only, until it expires; the portal's page may be framed only by the
session's allowed origins; sdk.js is served to any page."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlmodel import select

from api.portal_access import PORTAL_ROUTES
from api.routers import portal
from runtime.settings import settings
from store.database import session
from store.tables import PortalSession
from tests.walkthrough import catalog_document, install_demo_cycle, upload_catalog

PARTNER_SITE = "https://app.partner.example"


def paths(response: httpx.Response) -> set[str]:
    return {e["Path"] for e in response.json()["Errors"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_session(api: httpx.AsyncClient, account_id: str, **options: object) -> dict:
    response = await api.post(f"/v1.0/accounts/{account_id}/portal-sessions", json=options)
    assert response.status_code == 201, response.text
    return response.json()


def expire(session_id: str) -> None:
    """The session's end moved to the past: what the clock reaching it does."""
    with session() as db:
        row = db.get(PortalSession, session_id)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.add(row)
        db.commit()


async def test_a_portal_token_acts_for_its_account_and_listed_templates_only(api, api_url, demo):
    mine = await install_demo_cycle(api, demo.url, contacts=1)
    theirs = await install_demo_cycle(api, demo.url, contacts=1)
    listed, unlisted = mine.cycle["TemplateId"], theirs.cycle["TemplateId"]  # one template each
    assert listed != unlisted
    opened = await open_session(api, mine.account_id, Templates=[listed], AllowedOrigins=[PARTNER_SITE],
                                Theme={"Variables": {"--cw-accent": "#0a7"}}, Locale="fr-CA")
    assert opened["Url"] == f"{api_url}/portal/?session={opened['Id']}" and opened["AccountId"] == mine.account_id
    assert (opened["Templates"], opened["AllowedOrigins"], opened["Locale"]) == ([listed], [PARTNER_SITE], "fr-CA")
    claims = jwt.decode(opened["Token"], OctKey.import_key(settings().token_signing_key)).claims
    assert claims["exp"] == int(datetime.fromisoformat(opened["ExpiresAt"]).timestamp())  # it ends with the session
    their_connector = (await theirs.call("GET", "/v1.0/account/connectors")).json()[0]["Id"]

    async with httpx.AsyncClient(base_url=api_url, headers=bearer(opened["Token"])) as portal_client:
        assert (await portal_client.get(f"/v1.0/portal-sessions/{opened['Id']}")).json()["Theme"]["Variables"] == \
            {"--cw-accent": "#0a7"}
        # Its account's integrations, and the templates the session lists: nothing else.
        assert [c["Id"] for c in (await portal_client.get("/v1.0/cycles")).json()] == [mine.cycle_id]
        assert [t["Id"] for t in (await portal_client.get("/v1.0/templates")).json()] == [listed]
        hidden = [await portal_client.get(f"/v1.0/templates/{unlisted}"),
                  await portal_client.post(f"/v1.0/templates/{unlisted}/install", json={}),
                  await portal_client.get(f"/v1.0/cycles/{theirs.cycle_id}"),
                  await portal_client.get(f"/v1.0/account/connectors/{their_connector}"),
                  await portal_client.post(f"/v1.0/accounts/{theirs.account_id}/signintoken")]
        assert [r.status_code for r in hidden] == [404] * len(hidden), [r.text for r in hidden]
        other = await portal_client.get("/v1.0/cycles", headers={"X-Account-Id": theirs.account_id})
        assert other.status_code == 403 and "another account" in other.json()["Message"]

        # Partner routes, and account routes the portal does not use: 403 naming the route.
        refused = {
            ("POST", "/v1.0/accounts"): await portal_client.post("/v1.0/accounts", json={"Name": "Mine"}),
            ("POST", "/v1.0/accounts/{account_id}/portal-sessions"):
                await portal_client.post(f"/v1.0/accounts/{mine.account_id}/portal-sessions", json={}),
            ("GET", "/v1.0/account/variables"): await portal_client.get("/v1.0/account/variables"),
            ("POST", "/v1.0/cycles/{cycle_id}/run"): await portal_client.post(f"/v1.0/cycles/{mine.cycle_id}/run"),
            ("DELETE", "/v1.0/account/connectors/{id}"):
                await portal_client.delete(f"/v1.0/account/connectors/{their_connector}"),
        }
        for (method, route), response in refused.items():
            assert response.status_code == 403, (route, response.text)
            assert f"{method} {route}" in response.json()["Message"]

        installed = await portal_client.post(f"/v1.0/templates/{listed}/install", json={"Name": "From the portal"})
        assert installed.status_code == 201 and installed.json()["AccountId"] == mine.account_id

    assert [c["Id"] for c in (await theirs.call("GET", "/v1.0/cycles")).json()] == [theirs.cycle_id]
    assert (await api.get("/v1.0/accounts")).status_code == 200  # the partner's token is unaffected


async def test_every_portal_route_is_open_to_a_portal_token(api, api_url):
    """Each route the portal uses answers the portal's token (here 2xx, or 404/422 for made-up ids
    and bodies), never 401 or 403: a route missing from PORTAL_ROUTES would be 403."""
    account = (await api.post("/v1.0/accounts", json={"Name": "Portal routes"})).json()["Id"]
    opened = await open_session(api, account)
    async with httpx.AsyncClient(base_url=api_url, headers=bearer(opened["Token"])) as portal_client:
        for method, route in sorted(PORTAL_ROUTES):
            path = route.replace("{account_id}", account).replace("{session_id}", opened["Id"])
            path = re.sub(r"\{\w+\}", "no-such-id", path)
            response = await portal_client.request(method, path, json={} if method in ("POST", "PUT") else None)
            assert response.status_code not in (401, 403, 405, 500), (method, route, response.text)


async def test_a_portal_token_expires_with_its_session(api, api_url):
    account = (await api.post("/v1.0/accounts", json={"Name": "Expiring portal"})).json()["Id"]
    opened = await open_session(api, account, ExpiresIn=60, AllowedOrigins=[PARTNER_SITE])
    assert datetime.fromisoformat(opened["ExpiresAt"]) <= datetime.now(UTC) + timedelta(seconds=60)
    async with httpx.AsyncClient(base_url=api_url) as browser:
        assert (await browser.get("/v1.0/cycles", headers=bearer(opened["Token"]))).status_code == 200

        # The same token as its clock reaches its end: refused, though signed by us.
        claims = jwt.decode(opened["Token"], OctKey.import_key(settings().token_signing_key)).claims
        ended = jwt.encode({"alg": "HS256"}, {**claims, "exp": int(time.time()) - 1},
                           OctKey.import_key(settings().token_signing_key))
        response = await browser.get("/v1.0/cycles", headers=bearer(ended))
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"

        # The session itself ends too: its options are gone and no page may frame the portal.
        expire(opened["Id"])
        assert (await api.get(f"/v1.0/portal-sessions/{opened['Id']}")).status_code == 404

    # An account is deleted with its sessions (ended or not).
    await open_session(api, account)
    assert (await api.delete(f"/v1.0/accounts/{account}")).status_code == 204
    with session() as db:
        assert db.exec(select(PortalSession).where(PortalSession.account_id == account)).first() is None


def test_a_verified_portal_token_is_refused_once_its_time_is_up(monkeypatch):
    """The verified-token cache does not outlive a token: the clock moved past its end."""
    from api.auth import new_token, verified_claims
    from api.errors import ApiError

    token = new_token("test-client", {"scope": "portal", "account": "a", "session": "s", "exp": int(time.time()) + 60})
    assert verified_claims(token)["session"] == "s"  # verified, and remembered
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(ApiError) as refused:
        verified_claims(token)
    assert refused.value.status == 401


async def test_bad_session_options_are_named_and_nothing_is_saved(api, api_url):
    account = (await api.post("/v1.0/accounts", json={"Name": "Bad portal options"})).json()["Id"]
    bad = {
        "$.AllowedOrigins[1]": {"AllowedOrigins": [PARTNER_SITE, "https://app.partner.example/settings"]},
        "$.Templates[0]": {"Templates": ["no-such-template"]},
        "$.Theme.Variables.--cw-evil": {"Theme": {"Variables": {"--cw-evil": "red"}}},
        "$.Theme.Variables.--cw-accent": {"Theme": {"Variables": {"--cw-accent": "red; background: url(x)"}}},
        "$.Theme.Logo": {"Theme": {"Logo": "javascript:alert(1)"}},
        "$.Locale": {"Locale": "not a locale"},
        "$.ReturnUrl": {"ReturnUrl": "ftp://partner.example"},
        "$.ExpiresIn": {"ExpiresIn": 86_400},
    }
    for path, options in bad.items():
        response = await api.post(f"/v1.0/accounts/{account}/portal-sessions", json=options)
        assert response.status_code == 422 and paths(response) == {path}, (path, response.text)
    with session() as db:
        assert db.exec(select(PortalSession).where(PortalSession.account_id == account)).first() is None

    unknown = await api.post("/v1.0/accounts/no-such-account/portal-sessions", json={})
    assert unknown.status_code == 404 and "no-such-account" in unknown.json()["Message"]

    # Only the partner opens sessions: not an account's token, nor a portal's.
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        issued = (await anonymous.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
            "scope": f"account:{account}"})).json()["access_token"]
        refused = await anonymous.post(f"/v1.0/accounts/{account}/portal-sessions", json={}, headers=bearer(issued))
        assert refused.status_code == 403


@pytest.fixture
def built_portal() -> Iterator[Path]:
    """The portal's page: the built app's, or a stand-in while web/ is not built (these tests are
    about its headers, not its content)."""
    page = portal.PORTAL / "index.html"
    made = not page.exists()
    if made:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<!doctype html><title>portal</title>")
    yield page
    if made:
        page.unlink()


def ancestors(response: httpx.Response) -> str:
    policy = dict(p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";"))
    return policy["frame-ancestors"]


async def test_only_the_sessions_allowed_origins_may_frame_the_portal(api, api_url, built_portal):
    account = (await api.post("/v1.0/accounts", json={"Name": "Framed portal"})).json()["Id"]
    allowed = [PARTNER_SITE, "http://localhost:3000"]
    opened = await open_session(api, account, AllowedOrigins=allowed)
    unframed = await open_session(api, account)  # no AllowedOrigins: a page of its own only
    async with httpx.AsyncClient() as browser:  # no token: the page is public, its token is in the fragment
        def page(session_id: str, **query: str) -> httpx.Response:
            return browser.get(f"{api_url}/portal/", params={"session": session_id, **query})

        framed = await page(opened["Id"], parent="http://localhost:3000")
        assert framed.status_code == 200 and framed.headers["Content-Type"].startswith("text/html")
        assert ancestors(framed) == " ".join(allowed)
        assert "script-src 'self'" in framed.headers["Content-Security-Policy"]
        assert framed.text == built_portal.read_text()

        refused = {
            "another origin": await page(opened["Id"], parent="https://evil.example"),
            "no parent named": await page(opened["Id"]),
            "no such session": await page("no-such-session", parent=PARTNER_SITE),
            "a session allowing none": await page(unframed["Id"], parent=PARTNER_SITE),
        }
        expire(opened["Id"])
        refused["an expired session"] = await page(opened["Id"], parent=PARTNER_SITE)
        for case, response in refused.items():
            assert response.status_code == 200 and ancestors(response) == "'none'", case


async def test_sdk_js_is_served_to_any_page(api_url):
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{api_url}/portal/sdk.js", headers={"Origin": PARTNER_SITE})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.text == (Path(__file__).parents[2] / "web" / "sdk" / "sdk.js").read_text()
    assert "Cyclewright" in response.text and "addEventListener(\"message\"" in response.text


async def test_the_install_wizard_can_be_driven_with_the_portal_token_alone(api, api_url, demo):
    """Headless parity: what the portal's wizard does, done here with its token and nothing else:
    the connectors' forms, installing, what is missing (with what to fix), the fields to fill
    with their dropdowns, and filling them."""
    ids = await upload_catalog(api)
    account = (await api.post("/v1.0/accounts", json={"Name": "Wizard"})).json()["Id"]
    opened = await open_session(api, account, Templates=[ids["template"]])
    async with httpx.AsyncClient(base_url=api_url, headers=bearer(opened["Token"])) as wizard:
        template = (await wizard.get(f"/v1.0/templates/{ids['template']}")).json()
        assert template["Connectors"] == ["Demo CRM", "Demo Leads"] and template["Categories"] == ["CRM", "Sales"]
        connectors = {c["Name"]: c["Id"] for c in (await wizard.get("/v1.0/connectors")).json()}
        form = (await wizard.get(f"/v1.0/connectors/{connectors['Demo Leads']}/authentication")).json()
        assert [(a["Name"], a["AuthType"], a["IsDefault"]) for a in form["Authentications"]] == \
            [("Token", "Bearer", True)]
        assert form["Verified"] is True  # its AuthTestMethod checks credentials before they are saved
        oauth = await api.post("/v1.0/connectors", json=catalog_document("connectors", "demo-oauth-crm.json"))
        form = (await wizard.get(f"/v1.0/connectors/{oauth.json()['Id']}/authentication")).json()
        assert ("OAuth2", "AuthorisationCode") in [(a["AuthType"], a["OAuth2Type"]) for a in form["Authentications"]]
        listed = (await wizard.get("/v1.0/connectors")).json()
        for connector_id in {c["Id"] for c in listed if c["ReleaseStatus"] == "Live"}:  # every kind of form
            response = await wizard.get(f"/v1.0/connectors/{connector_id}/authentication")
            assert response.status_code == 200, response.text

        cycle = (await wizard.post(f"/v1.0/templates/{ids['template']}/install", json={})).json()
        missing = (await wizard.get(f"/v1.0/cycles/{cycle['Id']}/prerequisites")).json()
        assert {(p["Reason"], p["ConnectorId"]) for p in missing} == {
            ("ConnectorNotInstalled", connectors["Demo CRM"]), ("ConnectorNotInstalled", connectors["Demo Leads"]),
            ("MissingMapping", None)}

        wrong = await wizard.post("/v1.0/account/connectors", json={
            "ConnectorId": connectors["Demo Leads"], "AuthValue": "wrong-token",
            "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
        assert wrong.status_code == 422, wrong.text  # the upstream's refusal, shown to the user
        installed = {}
        for name, secret in (("Demo CRM", "demo-crm-key"), ("Demo Leads", "demo-leads-token")):
            response = await wizard.post("/v1.0/account/connectors", json={
                "ConnectorId": connectors[name], "AuthValue": secret, "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
            assert response.status_code == 201, response.text
            installed[name] = response.json()["Id"]

        lead = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
        missing = (await wizard.get(f"/v1.0/cycles/{cycle['Id']}/prerequisites")).json()
        assert [(p["Reason"], p["StepId"], p["Field"]) for p in missing] == [("MissingMapping", lead, "Source")]
        fields = {f["Field"]: f for f in (await wizard.get(f"/v1.0/steps/{lead}/fields")).json()["Fields"]}
        assert (fields["Source"]["TriggerName"], fields["Source"]["UserConfigurable"]) == ("Lead sources", True)
        assert fields["Email"]["UserConfigurable"] is False and fields["Email"]["Mapping"]["MappingType"] == "StepField"
        choices = await wizard.post(f"/v1.0/account/connectors/{installed['Demo Leads']}/triggers/Lead sources")
        assert choices.status_code == 200 and choices.json(), choices.text
        chosen = choices.json()[0]["Value"]
        assert (await wizard.put(f"/v1.0/steps/{lead}/fieldmappings/Source",
                                 json={"MappingType": "StaticValue", "Value": chosen})).status_code == 200
        assert (await wizard.put(f"/v1.0/steps/{lead}/fieldmappings/Email",
                                 json={"MappingType": "StaticValue", "Value": "x@example.com"})).status_code == 403
        assert (await wizard.get(f"/v1.0/cycles/{cycle['Id']}/prerequisites")).json() == []

        # The account's own custom fields (a lookup the template could not know): found, then filled.
        assert (await wizard.get(f"/v1.0/steps/{lead}/fields")).json()["CustomFields"] == "NotLookedUp"
        looked_up = await wizard.post(f"/v1.0/account/connectors/{installed['Demo Leads']}/methods/create-lead/customfields")
        assert looked_up.status_code == 200, looked_up.text
        found = (await wizard.get(f"/v1.0/steps/{lead}/fields")).json()
        custom = [f for f in found["Fields"] if f["Custom"]]
        assert found["CustomFields"] == "LookedUp" and {f["Label"] for f in custom} >= {"Favourite colour", "Budget"}
        assert all(f["UserConfigurable"] for f in custom)
        colour = next(f["Field"] for f in custom if f["Label"] == "Favourite colour")
        refused = await wizard.put(f"/v1.0/steps/{lead}/fieldmappings/{colour}",
                                   json={"MappingType": "StaticValue", "Value": "teal"})  # not one of its choices
        assert refused.status_code == 422 and paths(refused) == {"$.Value"}, refused.text
        filled = await wizard.put(f"/v1.0/steps/{lead}/fieldmappings/{colour}",
                                  json={"MappingType": "StaticValue", "Value": "blue"})
        assert filled.status_code == 200, filled.text


async def test_the_cli_prints_a_link_that_opens_an_accounts_portal(api, api_url):
    from tests.e2e.test_catalog_install import cyclewright

    account = (await api.post("/v1.0/accounts", json={"Name": "CLI portal"})).raise_for_status().json()["Id"]
    code, output = await asyncio.to_thread(cyclewright, "portal", account, "--api-url", api_url)
    assert code == 0, output
    url, _, token = output.strip().partition("#token=")
    session_id = re.search(r"session=([\w-]+)", url)[1]
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        opened = await http.get(f"{api_url}/v1.0/portal-sessions/{session_id}", headers=bearer(token))
    assert opened.status_code == 200 and opened.json()["AccountId"] == account, opened.text

    code, output = await asyncio.to_thread(cyclewright, "portal", "no-such-account", "--api-url", api_url)
    assert code == 1 and "404" in output and "no-such-account" in output, output
