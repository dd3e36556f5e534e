"""Acceptance (issue 18, point 2): an OAuth2 connector authenticated through the portal's popup
against an OAuth2 server that is not ours (npm's oauth2-mock-server), and its token then used by a run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.async_api import expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from runtime.launcher import answers, wait_until
from tests.conftest import ROOT, ThreadedServer, free_port
from tests.portal.conftest import new_account, open_session, portal_frame, wait_for_event

MOCK_SERVER = ROOT / "node_modules" / ".bin" / "oauth2-mock-server"

# A connector whose consent and tokens come from the mock server, and whose API is the test's own.
CONNECTOR = {
    "Name": "Mock OAuth Contacts",
    "Description": "Contacts behind a third party's OAuth 2 authorization server.",
    "Version": "1.0",
    "Authentication": [{"Name": "Consent", "AuthType": "OAuth2", "OAuth2Type": "AuthorisationCode", "IsDefault": True,
                        "AuthoriseUrl": "{{AuthServer}}/authorize", "AccessTokenUrl": "{{AuthServer}}/token",
                        "Scopes": ["contacts.read"]}],
    "Parameters": [
        {"Name": "AuthServer", "TargetType": "MergeField", "IsAccountConnectorProperty": True},
        {"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True},
        {"Name": "ClientId", "TargetType": "MergeField", "IsAccountConnectorProperty": True},
        {"Name": "ClientSecret", "TargetType": "MergeField", "IsAccountConnectorProperty": True, "IsSensitive": True},
    ],
    "Methods": [{"UniqueIdentifier": "list-contacts", "Name": "List Contacts", "HttpMethod": "Get",
                 "Endpoint": "{{BaseUrl}}/contacts",
                 "ResponseFormat": {"Fields": [{"ConnectorField": "[records].id", "SystemField": "Id"},
                                               {"ConnectorField": "[records].email", "SystemField": "Email"}]}}],
}
TEMPLATE = {"Name": "Import contacts", "Description": "Reads the contacts of the OAuth-protected API.",
            "Steps": [{"Id": "contacts", "Name": "List contacts", "Type": "Method",
                       "Connector": "Mock OAuth Contacts", "Method": "list-contacts"}]}


@pytest.fixture
def oauth_server() -> Iterator[str]:
    """npm's oauth2-mock-server: it consents at once and signs its tokens with its own key."""
    port = free_port()
    process = subprocess.Popen([str(MOCK_SERVER), "-a", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{url}/jwks"), "oauth2-mock-server", 30)
        assert process.poll() is None, "oauth2-mock-server exited"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def contacts_api() -> Iterator[tuple[str, list[str]]]:
    """The connector's API: answers with its contacts and keeps the Authorization it was sent."""
    seen: list[str] = []

    async def contacts(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization", ""))
        return JSONResponse({"records": [{"id": "1", "email": "ada@example.com"},
                                         {"id": "2", "email": "grace@example.com"}]})

    with ThreadedServer(Starlette(routes=[Route("/contacts", contacts)])) as server:
        yield server.url, seen


async def test_an_oauth2_connector_signs_in_through_the_portals_popup_and_a_run_uses_its_token(
        api, oauth_server, contacts_api, embedder, browser, screenshots):
    api_url, seen = contacts_api
    assert (await api.post("/v1.0/connectors", json=CONNECTOR)).status_code == 201
    template = await api.post("/v1.0/templates", json=TEMPLATE)
    assert template.status_code == 201, template.text
    account = await new_account(api)
    embedder.session = await open_session(api, account, Templates=[template.json()["Id"]],
                                          AllowedOrigins=[embedder.origin])
    page = await browser.new_page()
    await page.goto(embedder.origin)
    portal = await portal_frame(page)
    await wait_for_event(page, "ready")
    await portal.get_by_role("button", name="Install").click()

    form = portal.get_by_role("form", name="Mock OAuth Contacts")
    for label, value in (("AuthServer", oauth_server), ("BaseUrl", api_url), ("ClientId", "portal-client"),
                         ("ClientSecret", "portal-secret")):
        await form.get_by_label(label).fill(value)
    await page.screenshot(path=screenshots / "1-oauth-connect.png", full_page=True)
    async with page.context.expect_page() as opened:
        await form.get_by_role("button", name="Sign in with Mock OAuth Contacts").click()
    popup = await opened.value
    await popup.wait_for_event("close")  # the consent went through the mock server and came back
    await expect(portal.get_by_text("Every service is connected.")).to_be_visible()
    await wait_for_event(page, "authenticated")
    await portal.get_by_role("button", name="Continue").click()
    await portal.get_by_role("button", name="Activate").click()
    await expect(portal.get_by_role("table")).to_contain_text("2 succeeded, 0 failed", timeout=60_000)
    await page.screenshot(path=screenshots / "2-oauth-run.png", full_page=True)

    # The run called the API with the token the mock server issued (its signature, its issuer).
    assert seen and seen[0].startswith("Bearer "), seen
    async with httpx.AsyncClient() as client:
        issuer = (await client.get(f"{oauth_server}/.well-known/openid-configuration")).json()["issuer"]
        keys = KeySet.import_key_set((await client.get(f"{oauth_server}/jwks")).json())
    token = jwt.decode(seen[-1].removeprefix("Bearer "), keys)  # fails unless the mock server signed it
    assert token.claims["iss"] == issuer
