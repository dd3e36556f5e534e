"""Acceptance (issue 7, point 3): partner and account tokens, as DESIGN §7 says."""

from __future__ import annotations

import base64
import time

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey

from runtime.settings import settings
from tests.walkthrough import catalog_document, install_demo_cycle

CLIENT = {"grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret"}


async def _token(api_url: str, **form: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        return await anonymous.post("/oauth/token", data={**CLIENT, **form})


async def test_an_account_token_acts_for_its_account_only(api, api_url, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    other = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    other_cycles = await api.get("/v1.0/cycles", headers={"X-Account-Id": other})
    assert other_cycles.status_code == 200

    issued = await _token(api_url, scope=f"account:{cycle.account_id}")
    assert issued.status_code == 200 and issued.json()["scope"] == f"account:{cycle.account_id}"
    assert 0 < issued.json()["expires_in"] <= 3600
    crm = next(c["Id"] for c in (await api.get("/v1.0/connectors")).json() if c["Name"] == "Demo CRM")
    template = (await api.get("/v1.0/templates")).json()[0]["Id"]

    async with httpx.AsyncClient(base_url=api_url,
                                 headers={"Authorization": f"Bearer {issued.json()['access_token']}"}) as scoped:
        refused = [
            await scoped.post("/v1.0/accounts", json={"Name": "Mine"}),
            await scoped.post("/v1.0/connectors", json=catalog_document("connectors", "demo-crm.json")),
            await scoped.post("/v1.0/templates", json=catalog_document("templates", "crm-contacts-to-leads.json")),
            await scoped.get(f"/v1.0/connectors/{crm}"),  # the connector's document
            await scoped.delete(f"/v1.0/accounts/{cycle.account_id}"),
            await scoped.get("/v1.0/cycles", headers={"X-Account-Id": other}),
            await scoped.get(f"/v1.0/cycles/{cycle.cycle_id}", headers={"X-Account-Id": other}),
        ]
        assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
        assert all(r.json()["Message"] for r in refused)
        assert (await scoped.get(f"/v1.0/accounts/{other}")).status_code == 404
        assert [a["Id"] for a in (await scoped.get("/v1.0/accounts")).json()] == [cycle.account_id]

        # Its own account needs no X-Account-Id; it reads what it can install and installs it.
        own = await scoped.get("/v1.0/cycles")
        assert own.status_code == 200 and cycle.cycle_id in [c["Id"] for c in own.json()]
        assert (await scoped.get(f"/v1.0/cycles/{cycle.cycle_id}/runs")).status_code == 200
        assert (await scoped.get("/v1.0/templates")).status_code == 200
        assert (await scoped.get(f"/v1.0/connectors/{crm}/methods")).status_code == 200
        installed = await scoped.post(f"/v1.0/templates/{template}/install", json={})
        assert installed.status_code == 201 and installed.json()["AccountId"] == cycle.account_id

    assert [c["Id"] for c in (await api.get("/v1.0/cycles", headers={"X-Account-Id": other})).json()] == \
        [c["Id"] for c in other_cycles.json()]  # nothing reached the other account


async def test_tokens_for_missing_accounts_bad_scopes_and_expired_tokens_are_refused(api_url):
    response = await _token(api_url, scope="account:no-such-account")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    assert "no-such-account" in response.json()["Message"]
    assert (await _token(api_url, scope="admin")).json()["error"] == "invalid_scope"
    assert (await _token(api_url, grant_type="password")).json()["error"] == "unsupported_grant_type"

    expired = jwt.encode({"alg": "HS256"}, {"sub": "test-client", "scope": "partner", "exp": int(time.time()) - 1},
                         OctKey.import_key(settings().token_signing_key))
    no_expiry = jwt.encode({"alg": "HS256"}, {"sub": "test-client", "scope": "partner"},
                           OctKey.import_key(settings().token_signing_key))
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        for token in (expired, no_expiry):
            response = await anonymous.get("/v1.0/accounts", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"

        # client_secret_basic, the default of most OAuth2 client libraries, works as well as the form.
        basic = base64.b64encode(b"test-client:test-secret").decode()
        response = await anonymous.post("/oauth/token", data={"grant_type": "client_credentials"},
                                        headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200 and response.json()["scope"] == "partner"
        wrong = base64.b64encode(b"test-client:wrong").decode()
        response = await anonymous.post("/oauth/token", data={"grant_type": "client_credentials"},
                                        headers={"Authorization": f"Basic {wrong}"})
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
