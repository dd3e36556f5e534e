"""Acceptance (issue 18, point 6): signed events to the partner's backend. Every event type
reaches a real receiving HTTP server with a valid signature; with the receiver down for a while,
each event arrives once it is back, and the deliveries API lists the attempts; a replay re-sends
one. The tests' worker retries soon (tests/conftest.py: CYCLEWRIGHT_EVENT_*)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI, Request, Response

from store.partner_events import EVENT_TYPES
from tests.conftest import ROOT, ThreadedServer, free_port
from tests.e2e.test_oauth import consent, oauth_connector, server
from tests.e2e.test_on_error import refuse, template
from tests.templating import install_template
from tests.walkthrough import catalog_document, eventually, install_demo_cycle

# cycle.errored is sent too, but no step of this test makes a cycle Errored.
EXPECTED = set(EVENT_TYPES) - {"cycle.errored"}


class Receiver:
    """The partner's backend: takes every event, keeping its headers and body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/cyclewright/events"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()

        @self.app.post("/cyclewright/events")
        async def take(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response("thanks", status_code=200)

    @contextmanager
    def up(self) -> Iterator[None]:
        """Listening until the block ends; connections are refused outside it (the same port)."""
        with ThreadedServer(self.app, port=self.port):
            yield

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The README's `verify`, as a partner copies it."""
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme[readme.index("## Events to your backend"):], re.DOTALL).group(1)
    scope = {"hashlib": hashlib, "hmac": hmac, "time": time}
    exec(code, scope)  # noqa: S102 - the README's own code, run as a partner would
    return scope["verify"]


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict:
    """The event, if its signature is valid (as the README checks it, and not with another secret)."""
    assert readme_verify()(secret, headers["x-signature"], body), "the signature does not match"
    assert not readme_verify()(secret + "x", headers["x-signature"], body)
    event = json.loads(body)
    assert headers["x-event-id"] == event["Id"] and headers["x-event-type"] == event["Type"]
    return event


async def make_endpoint(api: httpx.AsyncClient, url: str) -> tuple[str, str]:
    response = await api.post("/v1.0/event-endpoints", json={"Url": url, "EventTypes": list(EVENT_TYPES)})
    assert response.status_code == 201, response.text
    endpoint = response.json()
    assert endpoint["Secret"]  # generated, shown this once
    assert (await api.get(f"/v1.0/event-endpoints/{endpoint['Id']}")).json()["Secret"] is None
    return endpoint["Id"], endpoint["Secret"]


async def deliveries(api: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await api.get("/v1.0/event-deliveries", params={"per_page": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_event_type_is_delivered_signed(api, demo):
    receiver = Receiver()
    endpoint_id, secret = await make_endpoint(api, receiver.url)
    try:
        with receiver.up():
            # A cycle installed, activated; contact 2 refused, so its transaction errors and the
            # StopCycle step pauses the cycle; then deactivated and removed.
            first = await install_template(api, demo.url, template("Events", "StopCycle"), contacts=3)
            await refuse(first, 2)
            cycle = await first.call("POST", f"/v1.0/templates/{first.cycle['TemplateId']}/install", json={})
            assert cycle.status_code == 201, cycle.text
            first.cycle = cycle.json()
            response = await first.activate(Interval=60)
            assert response.status_code == 200, response.text
            await first.wait_for_status("Paused")
            assert (await first.deactivate()).status_code == 200
            await first.wait_for_status("Stopped")
            assert (await first.call("DELETE", f"/v1.0/cycles/{first.cycle_id}")).status_code == 204

            # An OAuth refresh answered invalid_grant: the credentials need re-authentication, the run fails.
            second = await install_demo_cycle(api, demo.url, contacts=2)
            consented = await oauth_connector(second, "Consent")
            await consent(second, consented)
            crm = catalog_document("templates", "crm-contacts-to-leads.json")
            crm["Name"], crm["Steps"][0]["Connector"] = "Events over OAuth", "Demo OAuth CRM"
            template_id = (await api.post("/v1.0/templates", json=crm)).json()["Id"]
            installed = await second.call("POST", f"/v1.0/templates/{template_id}/install",
                                          json={"AccountConnectors": {"Demo OAuth CRM": consented}})
            second.cycle = installed.json()
            lead = next(s["Id"] for s in second.cycle["Steps"] if s["TemplateStepId"] == "lead")
            await second.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source",
                              json={"MappingType": "StaticValue", "Value": "crm"})
            await server(second, "/revoke", method="POST")
            await server(second, "/expire", method="POST")
            assert (await second.activate(RunOnce=True)).status_code == 200
            await second.wait_for_runs(1, status="Failed")

            mine = {first.account_id, second.account_id}
            await eventually(lambda: _arrived(receiver, mine, EXPECTED), "every event type to arrive")

        events = [verified(secret, headers, body) for headers, body in receiver.received]
        events = [e for e in events if e["AccountId"] in mine]
        by_type = {e["Type"]: e for e in events}
        assert set(by_type) >= EXPECTED
        installed = {e["Data"]["CycleId"] for e in events if e["Type"] == "cycle.installed"}
        assert {first.cycle_id, second.cycle_id} <= installed
        assert by_type["cycle.paused"]["Data"]["CycleId"] == first.cycle_id
        assert "HTTP 400" in by_type["cycle.paused"]["Data"]["Reason"]
        assert by_type["transaction.errored"]["Data"]["Number"] == 2
        assert by_type["cycle.removed"]["Data"]["CycleId"] == first.cycle_id
        assert by_type["run.failed"]["Data"]["CycleId"] == second.cycle_id
        assert by_type["account_connector.needs_reauthentication"]["Data"]["AccountConnectorId"] == consented
        assert "invalid_grant" in by_type["account_connector.needs_reauthentication"]["Data"]["Reason"]
        assert [e["Type"] for e in events].count("cycle.activated") == 2  # each cycle once, not per status write
        # Nothing but what the API shows anyway: no record of the run.
        assert not any("@example.com" in json.dumps(e) for e in events)

        # Filtered by account and type, each delivery lists its one attempt, answered 200.
        listed = await deliveries(api, account_id=first.account_id, event_type="cycle.paused")
        assert [(d["Status"], [a["StatusCode"] for a in d["Attempts"]]) for d in listed] == [("Delivered", [200])]
        assert listed[0]["Attempts"][0]["Response"] == "thanks"
    finally:
        await api.delete(f"/v1.0/event-endpoints/{endpoint_id}")


async def test_events_wait_for_a_receiver_that_is_down_and_a_replay_resends_one(api, demo):
    receiver = Receiver()  # down: nothing listens on its port yet
    endpoint_id, secret = await make_endpoint(api, receiver.url)
    try:
        cycle = await install_template(api, demo.url, template("Events while down", "StopCycle"))  # installs one
        for _ in range(2):
            response = await cycle.call("POST", f"/v1.0/templates/{cycle.cycle['TemplateId']}/install", json={})
            assert response.status_code == 201, response.text

        async def retried() -> list[dict] | None:
            listed = await deliveries(api, account_id=cycle.account_id, endpoint_id=endpoint_id)
            return listed if len(listed) == 3 and all(len(d["Attempts"]) >= 2 for d in listed) else None

        down = await eventually(retried, "each delivery to be tried twice while the receiver is down")
        for delivery in down:
            assert delivery["Status"] == "Pending"
            assert all(a["StatusCode"] is None and a["Error"] for a in delivery["Attempts"])

        with receiver.up():
            await eventually(lambda: _arrived(receiver, {cycle.account_id}, {"cycle.installed"}, count=3),
                             "every event once the receiver is back")
            back = await deliveries(api, account_id=cycle.account_id, status="Delivered")
            assert len(back) == 3
            for delivery in back:
                attempts = delivery["Attempts"]
                assert len(attempts) >= 3 and attempts[-1]["StatusCode"] == 200
                assert all(a["StatusCode"] is None for a in attempts[:-1])
            sent = {verified(secret, headers, body)["Id"] for headers, body in receiver.received}
            assert sent == {d["EventId"] for d in back}  # each arrived once its receiver was back

            replayed = await api.post(f"/v1.0/event-deliveries/{back[0]['Id']}/replay")
            assert replayed.status_code == 202, replayed.text
            assert replayed.json()["Status"] == "Pending"

            async def resent() -> bool:
                return [json.loads(body)["Id"] for _, body in receiver.received].count(back[0]["EventId"]) == 2

            await eventually(resent, "the replayed event to arrive again")
            first_body, second_body = [body for _, body in receiver.received
                                       if json.loads(body)["Id"] == back[0]["EventId"]]
            assert first_body == second_body  # the same event: its id and body
            again = (await api.get(f"/v1.0/event-deliveries/{back[0]['Id']}")).json()
            assert again["Status"] == "Delivered" and again["AttemptCount"] == 1
            assert len(again["Attempts"]) == len(back[0]["Attempts"]) + 1
    finally:
        await api.delete(f"/v1.0/event-endpoints/{endpoint_id}")


async def _arrived(receiver: Receiver, accounts: set[str], types: set[str], count: int = 1) -> bool:
    events = [e for e in receiver.events() if e["AccountId"] in accounts]
    return all(sum(e["Type"] == t for e in events) >= count for t in types)


async def test_an_endpoint_that_hangs_holds_up_no_other_endpoint(api, demo):
    receiver, entered, release = Receiver(), threading.Event(), threading.Event()
    hanging = FastAPI()

    @hanging.post("/events")
    def hang() -> Response:  # a thread of its own: it holds the request open until the test lets go
        entered.set()
        release.wait(60)
        return Response(status_code=200)

    with receiver.up(), ThreadedServer(hanging) as slow:
        slow_id, _ = await make_endpoint(api, f"{slow.url}/events")
        endpoint_id, secret = await make_endpoint(api, receiver.url)
        try:
            cycle = await install_template(api, demo.url, template("Events past a hang", "StopCycle"))
            await eventually(lambda: _arrived(receiver, {cycle.account_id}, {"cycle.installed"}),
                             "the event at the endpoint that answers")
            # The other endpoint's request was open all along: sent, and no attempt of it recorded yet.
            assert entered.is_set() and not release.is_set()
            held = await deliveries(api, endpoint_id=slow_id, account_id=cycle.account_id)
            assert [(d["Status"], d["Attempts"]) for d in held] == [("Pending", [])]
            (headers, body), = [(h, b) for h, b in receiver.received
                                if json.loads(b)["AccountId"] == cycle.account_id]
            assert verified(secret, headers, body)["Data"]["CycleId"] == cycle.cycle_id
        finally:
            release.set()
            await api.delete(f"/v1.0/event-endpoints/{slow_id}")
            await api.delete(f"/v1.0/event-endpoints/{endpoint_id}")


async def test_a_bad_endpoint_is_refused_naming_what_is_wrong_and_nothing_is_made(api):
    before = (await api.get("/v1.0/event-endpoints")).json()
    for body, path, words in [
        ({"Url": "http://169.254.169.254/latest", "EventTypes": ["run.failed"]}, "$.Url", "169.254.169.254"),
        ({"Url": "https://partner.example/e", "EventTypes": ["run.exploded"]}, "$.EventTypes[0]", "run.failed"),
        ({"Url": "https://partner.example/e", "EventTypes": ["run.failed"], "AccountId": "nobody"},
         "$.AccountId", "no account"),
        ({"Url": "https://partner.example/e", "EventTypes": ["run.failed"], "Secret": "short"}, "$.Secret", "16"),
    ]:
        response = await api.post("/v1.0/event-endpoints", json=body)
        assert response.status_code == 422, response.text
        (error,) = response.json()["Errors"]
        assert error["Path"] == path and words in error["Message"], error
    assert (await api.get("/v1.0/event-endpoints")).json() == before
    missing = await api.post("/v1.0/event-deliveries/no-such-delivery/replay")
    assert missing.status_code == 404 and "no-such-delivery" in missing.json()["Message"]
