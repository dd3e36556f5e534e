"""Webhook script events in running cycles: before_webhook in the API as an event arrives (a
handshake answered, signatures checked, a challenge echoed, a refusal), after_webhook as a run
takes it (records read out of a delivery, events dropped, a poison event errored without
holding up the queue, and re-queued by a retry)."""

from __future__ import annotations

import httpx

from tests.e2e.test_webhooks import webhook_url
from tests.templating import create_lead, field, install_template, transactions
from tests.walkthrough import Installed, eventually

SIGNED = {"Name": "Signed lead events", "Steps": [
    {"Id": "event", "Type": "Webhook", "Connector": "Demo Leads", "Method": "signed-lead-events", "Next": "lead"},
    create_lead(field("event", "Email")),
]}
STEP_SCRIPT = """
function before_webhook() {
  if (method_request.type === 'url_verification') {  // Slack's challenge
    method_response = {challenge: method_request.challenge};
    method_response_headers = {'X-Challenge': 'answered', 'X-Bad': 'a\\r\\nSet-Cookie: x=1', 'Content-Length': '999'};
    return false;
  }
  if (method_request_parameters.explode) {
    throw new Error('exploded on purpose');
  }
  method_request.email = method_request.email.toLowerCase();
}
function after_webhook() { method_response.name = 'read by the step script'; }
"""
CHALLENGED = {"Name": "Challenged lead events", "Steps": [
    {"Id": "event", "Type": "Webhook", "Connector": "Demo Leads", "Method": "lead-events", "Next": "lead",
     "Script": STEP_SCRIPT},
    create_lead(field("event", "Email")),
]}


def added(email: str) -> dict:
    return {"action": "added", "resource": {"email": email}}


async def deliver(cycle: Installed, hook_id: str, events: list[dict], wrong_signature: bool = False) -> dict:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{cycle.demo_url}/admin/signed-hooks/{hook_id}/deliver",
                                     json={"events": events, "wrong_signature": wrong_signature})
        response.raise_for_status()
        return response.json()


async def lead_emails(cycle: Installed) -> dict[str, int]:
    return (await cycle.demo_stats())["emails"]


async def has_leads(cycle: Installed, *emails: str) -> bool:
    return set(emails) <= set(await lead_emails(cycle))


async def test_a_handshake_then_signed_deliveries_read_by_the_scripts(api, demo):
    cycle = await install_template(api, demo.url, SIGNED)
    response = await cycle.activate()  # the demo's handshake reaches before_webhook meanwhile
    assert response.status_code == 200 and response.json()["Status"] == "Active", response.text
    async with httpx.AsyncClient() as client:
        subscribed = (await client.get(f"{demo.url}/admin/signed-hooks")).json()
    hook_id = next(h for h, url in subscribed.items() if url == webhook_url(cycle))

    delivery = [added("a@example.com"), {"action": "removed", "resource": {"email": "gone@example.com"}},
                added("b@example.com")]
    assert (await deliver(cycle, hook_id, delivery))["status"] == 202
    refused = await deliver(cycle, hook_id, [added("forged@example.com")], wrong_signature=True)
    assert refused["status"] == 401 and "does not match" in refused["body"], refused
    dropped = await deliver(cycle, hook_id, [{"action": "removed", "resource": {"email": "x@example.com"}}])
    assert dropped["status"] == 202  # accepted; its after_webhook drops it
    poison = await deliver(cycle, hook_id, [{"action": "added"}])
    assert poison["status"] == 202
    assert (await deliver(cycle, hook_id, [added("c@example.com")]))["status"] == 202
    await eventually(lambda: has_leads(cycle, "a@example.com", "b@example.com", "c@example.com"),
                     "the leads after the poison event")

    emails = await lead_emails(cycle)
    assert "gone@example.com" not in emails and "forged@example.com" not in emails and "x@example.com" not in emails
    rows = await transactions(cycle)
    assert sorted(t["Status"] for t in rows) == ["Errored", "Success", "Success", "Success"], rows
    errored = next(t for t in rows if t["Status"] == "Errored")
    assert errored["Step"] == "event"
    assert "after_webhook failed at line 24" in errored["Message"], errored
    assert "without a resource email" in errored["Message"]
    detail = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions/{errored['Id']}")).json()
    assert detail["Records"]["event"] == {"events": [{"action": "added"}]}  # the event, kept

    retried = await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/transactions/{errored['Id']}/retry")
    assert retried.status_code == 202 and retried.json()["WorkflowId"] == f"cycle-{cycle.cycle_id}", retried.text

    async def errored_again() -> bool:
        return [t["Status"] for t in await transactions(cycle)].count("Errored") == 1 and len(
            await transactions(cycle)) == 5

    await eventually(errored_again, "the re-queued event read again (and failing again)")
    rows = await transactions(cycle)
    before = next(t for t in rows if t["Id"] == errored["Id"])
    assert before["Status"] == "Success" and before["Message"].startswith("re-queued"), before


async def test_a_step_script_answers_a_challenge_reshapes_and_refuses(api, demo):
    cycle = await install_template(api, demo.url, CHALLENGED)
    url = webhook_url(cycle)
    async with httpx.AsyncClient(timeout=30) as client:
        # A challenge is answered even before activation: subscribing may need it.
        challenge = await client.post(url, json={"type": "url_verification", "challenge": "c-123"})
        assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}, challenge.text
        assert challenge.headers["X-Challenge"] == "answered"  # a header that cannot be sent is left off
        assert "X-Bad" not in challenge.headers and "set-cookie" not in challenge.headers
        assert (await client.post(url, json={"email": "Early@Example.com"})).status_code == 409
        (await cycle.activate()).raise_for_status()
        exploded = await client.post(url, params={"explode": "1"}, json={"email": "boom@example.com"})
        assert exploded.status_code == 500, exploded.text
        assert "exploded on purpose" in exploded.json()["Message"] and "line 9" in exploded.json()["Message"]
        assert (await client.post(url, json={"email": "Mixed@Example.com"})).status_code == 202
    await eventually(lambda: has_leads(cycle, "mixed@example.com"), "the lowercased lead")
    assert set(await lead_emails(cycle)) == {"mixed@example.com"}  # neither the early nor the exploded one
    rows = await transactions(cycle)
    assert len(rows) == 1
    detail = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions/{rows[0]['Id']}")).json()
    assert detail["Records"]["event"]["Name"] == "read by the step script", detail
