"""Acceptance (issue 10, point 3; issue 15, point 10): with PAYLOAD_ENCRYPTION_KEY set, no workflow
or activity input or result in the raw history is readable, nor any failure's message or stack
trace; the API's codec endpoint decodes them for a partner token (and for the Web UI's origin),
refuses without one, and still decodes them after the key is rotated, while new runs use the new
key."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import httpx
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import Client

from runtime.codec import ENCODING, KEY_ID
from tests.conftest import partner_client
from tests.walkthrough import Installed, install_demo_cycle


def _key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW = _key("old"), _key("new")
UI_ORIGIN = "http://localhost:8233"


# What the SDK writes into its own markers, as plain JSON no codec sees: a patch's id
# (workflow.patched); a local activity's id, type and timing (its result is encoded).
SDK_MARKER_DATA = {"patch-data", "data"}


def _payloads(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a history event, except search attributes (plain by design: the
    server indexes them, and they hold only ids) and the SDK's own marker data."""
    for field, value in message.ListFields():
        if field.message_type is None or field.name == "search_attributes":
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values() if field.message_type.fields_by_name["value"].message_type else []
            if isinstance(message, MarkerRecordedEventAttributes):
                values = [v for k, v in value.items() if k not in SDK_MARKER_DATA]
        else:
            values = value if field.is_repeated else [value]
        for item in values:
            yield from [item] if isinstance(item, Payload) else _payloads(item)


def _failures(message: Message) -> Iterator[Failure]:
    """Every failure anywhere in a history event, causes included."""
    for field, value in message.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        for item in value if field.is_repeated else [value]:
            if isinstance(item, Failure):
                yield item
            yield from _failures(item)


async def _history_payloads(raw: Client, workflow_id: str) -> list[Payload]:
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    return [payload for event in history.events for payload in _payloads(event)]


async def _raw_payloads(raw: Client, cycle: Installed, run_workflow_id: str) -> list[Payload]:
    payloads = [*await _history_payloads(raw, f"cycle-{cycle.cycle_id}"), *await _history_payloads(raw, run_workflow_id)]
    assert len(payloads) > 4  # inputs and results of the cycle, the run and its activities
    return payloads


def _body(payloads: list[Payload]) -> dict:
    return MessageToDict(Payloads(payloads=payloads))


def _decoded(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [base64.b64decode(p.get("data", "")).decode() for p in response.json()["payloads"]]


async def _run_once(cycle: Installed, runs: int) -> str:
    """Activates the run-once cycle; returns the workflow id of its `runs`th run once it succeeded."""
    activated = await cycle.activate(RunOnce=True)
    assert activated.status_code == 200, activated.text
    finished = await cycle.wait_for_runs(runs)
    await cycle.wait_for_status("Stopped")  # a run-once cycle ends with its run
    return max(finished, key=lambda run: run["Number"])["WorkflowId"]


async def _browser_sign_in_decodes(api_url: str, payloads: list[Payload], decoded: list[str]) -> None:
    """The dev server's UI has no sign-in: a browser signs in at /codec/signin, and the UI's
    cross-origin calls then carry the cookie (credentials mode "include")."""
    async with httpx.AsyncClient(base_url=api_url) as browser:
        assert "client_secret" in (await browser.get("/codec/signin")).text  # the form
        wrong = await browser.post("/codec/signin", data={"client_id": "test-client", "client_secret": "guess"})
        assert wrong.status_code == 401 and not browser.cookies
        signed_in = await browser.post("/codec/signin", data={"client_id": "test-client", "client_secret": "test-secret"})
        assert signed_in.status_code == 200, signed_in.text
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "path=/codec" in cookie and "samesite=lax" in cookie
        assert "/codec" in signed_in.text and "test-secret" not in signed_in.text
        from_ui = await browser.post("/codec/decode", json=_body(payloads), headers={"Origin": UI_ORIGIN})
        assert _decoded(from_ui) == decoded
        assert from_ui.headers["access-control-allow-origin"] == UI_ORIGIN
        assert from_ui.headers["access-control-allow-credentials"] == "true"
        browser.cookies.clear()
        assert (await browser.post("/codec/decode", json=_body(payloads))).status_code == 401


async def test_history_payloads_are_encrypted_and_the_codec_endpoint_decodes_them(demo, private_stack):
    stack = private_stack(PAYLOAD_ENCRYPTION_KEY=OLD)
    raw = await Client.connect(f"127.0.0.1:{stack.port}")  # the default converter: no codec
    async with partner_client(stack.api_url) as api, httpx.AsyncClient(base_url=stack.api_url) as anonymous:
        cycle = await install_demo_cycle(api, demo.url, contacts=3)
        first_run = await _run_once(cycle, 1)
        payloads = await _raw_payloads(raw, cycle, first_run)
        plain_values = [cycle.cycle_id, cycle.account_id, cycle.cycle["TemplateId"]]
        for payload in payloads:
            assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID] == b"old"
            assert not any(value.encode() in payload.SerializeToString() for value in plain_values)

        decoded = _decoded(await api.post("/codec/decode", json=_body(payloads), headers={"X-Namespace": "default"}))
        assert json.loads(decoded[0])["cycle_id"] == cycle.cycle_id  # the cycle workflow's input
        assert any(cycle.account_id in text for text in decoded)
        refused = await anonymous.post("/codec/decode", json=_body(payloads))
        assert refused.status_code == 401 and "cycle_id" not in refused.text

        # The Web UI calls from its own origin: the codec answers its preflight, the rest of the API does not.
        preflight = {"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
        allowed = await anonymous.options("/codec/decode", headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "access-control-allow-origin" not in (await anonymous.options("/v1.0/accounts", headers=preflight)).headers
        other = await anonymous.options("/codec/decode", headers={**preflight, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        await _browser_sign_in_decodes(stack.api_url, payloads, decoded)

        stack.restart_processes(PAYLOAD_ENCRYPTION_KEY=f"{NEW},{OLD}")  # rotation: the new key first
        assert _decoded(await api.post("/codec/decode", json=_body(payloads))) == decoded
        second_run = await _run_once(cycle, 2)
        new_payloads = await _history_payloads(raw, second_run)
        assert new_payloads and all(p.metadata[KEY_ID] == b"new" for p in new_payloads)
        assert any(cycle.cycle_id in text for text in _decoded(await api.post("/codec/decode",
                                                                             json=_body(new_payloads))))

        stack.restart_processes(PAYLOAD_ENCRYPTION_KEY=NEW)  # the old key dropped: its payloads no longer open
        unknown = await api.post("/codec/decode", json=_body(payloads[:1]))
        assert unknown.status_code == 422 and "key id 'old'" in unknown.json()["Message"]
        assert OLD.split(":")[1] not in unknown.text and NEW.split(":")[1] not in unknown.text


async def test_failure_messages_and_stack_traces_are_encrypted_and_the_codec_endpoint_decodes_them(
        demo, private_stack):
    stack = private_stack(PAYLOAD_ENCRYPTION_KEY=NEW)
    raw = await Client.connect(f"127.0.0.1:{stack.port}")  # the default converter: no codec
    marker = "account 7731 is suspended for unpaid invoices"
    async with partner_client(stack.api_url) as api:
        cycle = await install_demo_cycle(api, demo.url, contacts=3)
        await cycle.demo("faults", status=403, path="/crm/contacts", count=1, message=marker)
        assert (await cycle.activate(RunOnce=True)).status_code == 200
        (failed,) = await cycle.wait_for_runs(1, status="Failed")
        await cycle.wait_for_status("Stopped")  # a run-once cycle ends with its run: both histories are complete
        # The premise: the run failed at the upstream, and its reason quotes the upstream's error.
        assert "HTTP 403" in failed["Message"] and marker in failed["Message"], failed

        histories = [await raw.get_workflow_handle(workflow_id).fetch_history()
                     for workflow_id in (failed["WorkflowId"], f"cycle-{cycle.cycle_id}")]
        events = [event for history in histories for event in history.events]
        failures = [failure for event in events for failure in _failures(event)]
        # The activity's failure, the run's, and the run's as its cycle saw it (each with causes).
        assert len(failures) >= 3
        for failure in failures:
            assert failure.message == "Encoded failure" and failure.stack_trace == "", failure
            assert failure.encoded_attributes.metadata["encoding"] == ENCODING
        for event in events:
            text = event.SerializeToString()
            assert marker.encode() not in text and b"HTTP 403" not in text and b'.py", line' not in text

        attributes = [failure.encoded_attributes for failure in failures]
        decoded = [json.loads(text) for text in _decoded(await api.post("/codec/decode", json=_body(attributes)))]
        assert any(marker in attribute["message"] for attribute in decoded)
        # Stack traces too: the activity's, where the trigger step raised.
        assert any("activities/trigger.py" in attribute["stack_trace"] for attribute in decoded)
        assert any(attribute["message"].startswith("step 'List contacts'") for attribute in decoded)
