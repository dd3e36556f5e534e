"""With Temporal stopped, the calls that need it answer 503 within about 2 s, and those that do
not keep answering (issue 15, acceptance 6); once it is back, they work again."""

from __future__ import annotations

import time

import httpx

from tests.conftest import partner_client
from tests.walkthrough import eventually, install_demo_cycle

BOUND = 4.0  # seconds; the API gives up on Temporal after about 2


async def test_cycle_control_answers_503_quickly_and_reads_go_on_while_temporal_is_stopped(demo, private_stack):
    stack = private_stack()
    async with partner_client(stack.api_url) as api:
        active = await install_demo_cycle(api, demo.url, contacts=1)
        assert (await active.activate(Interval=60)).status_code == 200
        await active.wait_for_status("Active")
        paused = await install_demo_cycle(api, demo.url, contacts=1)
        stack.kill_temporal()

        for cycle, method, action, body in ((paused, "PUT", "activate", {"RunOnce": True}),
                                            (active, "PUT", "pause", None), (active, "POST", "run", None),
                                            (active, "PUT", "resume", None), (active, "PUT", "deactivate", None)):
            started = time.monotonic()
            response = await cycle.call(method, f"/v1.0/cycles/{cycle.cycle_id}/{action}", json=body)
            waited = time.monotonic() - started
            assert response.status_code == 503 and "Temporal" in response.json()["Message"], (action, response.text)
            assert response.headers["Retry-After"] == "1" and waited < BOUND, (action, waited)

        # What needs no Temporal answers as before, and nothing changed.
        for cycle, status in ((active, "Active"), (paused, "Paused")):
            response = await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")
            assert response.status_code == 200 and response.json()["Status"] == status, response.text
            response = await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/runs")
            assert response.status_code == 200, response.text

        stack.start_temporal()  # same port and history: the API reconnects by itself
        async def paused_again() -> httpx.Response | None:
            response = await active.call("PUT", f"/v1.0/cycles/{active.cycle_id}/pause")
            return response if response.status_code == 200 else None

        assert (await eventually(paused_again, "a pause once Temporal is back")).json()["Status"] == "Paused"
