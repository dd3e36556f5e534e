"""Cycle and account variables, and the storage listings, through the API."""

from __future__ import annotations

from tests.walkthrough import install_demo_cycle


async def test_cycle_and_account_variables_are_set_listed_and_deleted(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    base = f"/v1.0/cycles/{cycle.cycle_id}/variables"
    assert (await cycle.call("GET", base)).json() == []

    response = await cycle.call("PUT", f"{base}/Region", json={"Value": "EU"})
    assert response.status_code == 200 and response.json() == {"Name": "Region", "Value": "EU"}
    await cycle.call("PUT", f"{base}/Region", json={"Value": "UK"})  # setting again replaces it
    assert (await cycle.call("GET", base)).json() == [{"Name": "Region", "Value": "UK"}]

    for name, value in (("Region", "Global"), ("Owner", "ops@example.com")):
        response = await cycle.call("PUT", f"/v1.0/account/variables/{name}", json={"Value": value})
        assert response.status_code == 200, response.text
    assert (await cycle.call("GET", "/v1.0/account/variables")).json() == [
        {"Name": "Owner", "Value": "ops@example.com"}, {"Name": "Region", "Value": "Global"}]

    assert (await cycle.call("DELETE", f"{base}/Region")).status_code == 204
    again = await cycle.call("DELETE", f"{base}/Region")
    assert again.status_code == 404 and again.json()["Message"] == "variable 'Region' was not found"
    assert (await cycle.call("GET", base)).json() == []
    assert (await cycle.call("DELETE", "/v1.0/account/variables/Owner")).status_code == 204
    assert (await cycle.call("GET", "/v1.0/account/variables")).json() == [{"Name": "Region", "Value": "Global"}]

    assert (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/storage")).json() == []
    assert (await cycle.call("GET", "/v1.0/account/storage")).json() == []


async def test_another_accounts_cycle_is_not_found_and_bad_names_are_refused(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    other = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    headers = {"X-Account-Id": other}
    for method, path in (("GET", "variables"), ("PUT", "variables/Region"), ("DELETE", "variables/Region"),
                         ("GET", "storage")):
        response = await api.request(method, f"/v1.0/cycles/{cycle.cycle_id}/{path}", headers=headers,
                                     json={"Value": "x"} if method == "PUT" else None)
        assert response.status_code == 404 and cycle.cycle_id in response.json()["Message"], (method, path)

    for name in ("my-var", "1st"):
        response = await cycle.call("PUT", f"/v1.0/account/variables/{name}", json={"Value": "x"})
        assert response.status_code == 422
        (error,) = response.json()["Errors"]
        assert error["Path"] == "path:name" and f"'{name}' is not a variable name" in error["Message"]
    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/variables/Region", json={})
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "$.Value"
