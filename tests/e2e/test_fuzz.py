"""Acceptance (issue 7, point 7): schemathesis over the API's own OpenAPI, with a real account,
cycle, run and token. Every operation is called with generated input twice: as generated, and
with its path ids replaced by real ones (so the calls reach past the 404s). No response may be
a server error, and every response must be documented: its status, content type and schema."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import app
from tests.conftest import api_process, free_port, partner_client
from tests.walkthrough import install_demo_cycle

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 15  # per operation, each called twice


@pytest.fixture(scope="module")
def fuzzed_api(temporal, worker):
    """An API process of its own, so what the fuzzer creates stays out of the session API's way
    (it shares the session's database, Temporal and worker)."""
    port = free_port()
    process = api_process(port, log="fuzz-api.log")
    yield f"http://127.0.0.1:{port}"
    process.stop()


@pytest.fixture(scope="module")
async def real(fuzzed_api) -> dict[str, str]:
    """Ids of real objects for each kind of path parameter, and a partner token."""
    from demo.app import create_app
    from tests.conftest import ThreadedServer

    with ThreadedServer(create_app()) as demo:
        async with partner_client(fuzzed_api) as api:
            installed = await install_demo_cycle(api, demo.url, contacts=3)
            assert (await installed.activate(RunOnce=True)).status_code == 200
            (run,) = await installed.wait_for_runs(1)
            transaction = (await installed.call("GET", f"/v1.0/cycles/{installed.cycle_id}/transactions")).json()[0]
            connector = (await installed.call("GET", "/v1.0/account/connectors")).json()[0]
            return {
                "token": api.headers["Authorization"], "account_id": installed.account_id,
                "cycle_id": installed.cycle_id, "step_id": installed.cycle["Steps"][1]["Id"],
                "template_id": installed.cycle["TemplateId"], "transaction_id": transaction["Id"],
                "id": connector["Id"], "connector_id": connector["ConnectorId"], "run": run["Id"],
            }


# The document the API serves, read from the app itself: the calls go to a real API process.
schema = schemathesis.openapi.from_dict(app.openapi())


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_the_api_answers_every_input_as_documented(case, fuzzed_api, real):
    headers = {"Authorization": real["token"], "X-Account-Id": real["account_id"]}
    case.call_and_validate(base_url=fuzzed_api, headers=headers, checks=CHECKS)
    known = {name: real[name] for name in case.path_parameters or {} if name in real}
    if known:
        case.path_parameters = {**case.path_parameters, **known}
        case.call_and_validate(base_url=fuzzed_api, headers=headers, checks=CHECKS)
