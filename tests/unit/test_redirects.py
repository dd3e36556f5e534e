"""Upstream redirects through the engine, against the demo API (a real server): a 3xx is a final
step error naming where it points, unless the method follows redirects within its origin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors import Credentials, parse_connector
from connectors.call import call_method
from connectors.client import http_client
from connectors.egress import EgressPolicy
from connectors.errors import StepError
from connectors.redirects import MAX_REDIRECTS
from demo.app import CRM_KEY, LEADS_TOKEN, create_app
from tests.conftest import ThreadedServer

LOOPBACK = EgressPolicy.parse("127.0.0.0/8")


@pytest.fixture
def other_origin():
    """A second demo API: the same software on another port, so another origin."""
    with ThreadedServer(create_app()) as server:
        yield server


def _connector(endpoint: str, follow: bool, key_in: str = "Header") -> Any:
    return parse_connector({
        "Name": "Moved CRM", "Version": "1",
        "Authentication": [{"AuthType": "ApiKey", "ApiKeyLocation": key_in, "ApiKeyName": "X-Api-Key"}],
        "Methods": [{"UniqueIdentifier": "call", "Name": "Call", "HttpMethod": "Get", "Endpoint": endpoint,
                     "FollowRedirects": follow,
                     "ResponseFormat": {"Fields": [{"ConnectorField": "[records].id", "SystemField": "Id"}]}}]})


async def _call(endpoint: str, follow: bool, **options: Any) -> tuple[Any, list]:
    """The call's result (or its error) and the exchanges the debugger would show."""
    exchanges: list = []
    connector = _connector(endpoint, follow, options.pop("key_in", "Header"))
    async with http_client(2, LOOPBACK) as client:
        try:
            result = await call_method(client, connector, "call", credentials=Credentials(CRM_KEY),
                                       on_exchange=exchanges.append, **options)
        except StepError as err:
            result = err
    return result, exchanges


async def _reached(server_url: str) -> list[tuple[str, str | None]]:
    """Each path the server received, with the API key it carried."""
    async with httpx.AsyncClient() as client:
        found = (await client.get(f"{server_url}/admin/requests")).json()
    return [(r["path"], r["headers"].get("x-api-key")) for r in found]


async def test_a_redirect_is_a_final_step_error_naming_its_status_and_location(demo):
    err, exchanges = await _call(f"{demo.url}/moved/301/crm/contacts", follow=False)
    assert isinstance(err, StepError) and not err.retryable and err.status == 301
    assert err.brief() == (f"Moved CRM call: HTTP 301 Moved Permanently: redirected to {demo.url}/crm/contacts, "
                           "which the method does not follow (FollowRedirects: true follows redirects within its "
                           "origin)")
    assert [e.status for e in exchanges] == [301]
    assert await _reached(demo.url) == [("/moved/301/crm/contacts", CRM_KEY)]


async def test_a_3xx_that_is_no_redirect_is_an_error_too(demo):
    await httpx.AsyncClient().post(f"{demo.url}/admin/faults", json={
        "status": 300, "path": "/crm", "headers": {"Location": "/crm/choices"}})
    err, _ = await _call(f"{demo.url}/crm/contacts", follow=True)
    assert isinstance(err, StepError) and err.status == 300
    assert err.reason == f"Multiple Choices: a 3xx answer pointing to {demo.url}/crm/choices, with no redirect to follow"


async def test_the_location_shown_masks_the_credentials_it_carries(demo):
    err, _ = await _call(f"{demo.url}/moved/302/crm/contacts", follow=False, key_in="QueryString")
    assert "redirected to" in err.reason and "X-Api-Key=***" in err.reason and CRM_KEY not in str(err)


async def test_a_method_may_follow_redirects_within_its_origin_with_its_credentials(demo):
    result, exchanges = await _call(f"{demo.url}/moved/301/moved/308/crm/contacts", follow=True)
    assert result.status == 200 and len(result.records) == 25
    assert [e.status for e in exchanges] == [301, 308, 200]  # the debugger shows every hop
    assert await _reached(demo.url) == [("/moved/301/moved/308/crm/contacts", CRM_KEY),
                                        ("/moved/308/crm/contacts", CRM_KEY), ("/crm/contacts", CRM_KEY)]


async def test_a_redirect_to_another_origin_is_refused_and_the_other_origin_gets_nothing(demo, other_origin):
    err, _ = await _call(f"{demo.url}/redirect?to={other_origin.url}/crm/contacts", follow=True)
    assert isinstance(err, StepError) and err.status == 302
    assert err.reason == (f"Found: redirected to {other_origin.url}/crm/contacts, another origin: FollowRedirects "
                          "follows redirects only within the method's origin")
    assert await _reached(other_origin.url) == []


async def test_a_write_follows_only_redirects_that_keep_its_method(demo):
    lead = {"fields": {"Email": "moved@example.com"}}
    leads = Credentials(LEADS_TOKEN)
    connector = parse_connector({
        "Name": "Moved Leads", "Version": "1", "Authentication": [{"AuthType": "Bearer"}],
        "Methods": [{"UniqueIdentifier": f"create-{status}", "Name": "Create", "HttpMethod": "Post",
                     "Endpoint": f"{demo.url}/moved/{status}/leads/contacts", "FollowRedirects": True,
                     "RequestFormat": {"Fields": [{"ConnectorField": "email", "SystemField": "Email"}]}}
                    for status in (301, 302, 307)]})
    async with http_client(2, LOOPBACK) as client:
        for status in (301, 302):
            with pytest.raises(StepError, match=f"HTTP {status} .*which would resend the POST as a GET: a write "
                                                "follows only 303, 307 and 308 redirects"):
                await call_method(client, connector, f"create-{status}", credentials=leads, **lead)
        created = await call_method(client, connector, "create-307", credentials=leads, **lead)
    assert created.status == 201 and created.body["email"] == "moved@example.com"
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(f"{demo.url}/admin/stats")).json()["leads_created"] == 1


async def test_redirects_are_followed_a_bounded_number_of_times(demo):
    endless = "/moved/302" * (MAX_REDIRECTS + 1) + "/crm/contacts"
    err, exchanges = await _call(f"{demo.url}{endless}", follow=True)
    assert isinstance(err, StepError) and f"after {MAX_REDIRECTS} redirects: FollowRedirects follows no more" in err.reason
    assert len(exchanges) == MAX_REDIRECTS + 1 and len(await _reached(demo.url)) == MAX_REDIRECTS + 1
