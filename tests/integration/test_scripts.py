"""Acceptance (issue 9, points 2 and 3): connector scripts against the demo ledger over real HTTP.

The ledger takes only HMAC-signed requests and lists entries as columns and rows: the demo
ledger connector works only with its scripts. Limits: an endless script fails its call within
the time limit while the event loop goes on; an unbounded one fails with a memory error.
"""

from __future__ import annotations

import asyncio
import copy

import httpx
import pytest

from connectors import (
    Credentials,
    ScriptError,
    StepError,
    Unauthorized,
    call_method,
    fetch_pages,
    parse_connector,
)
from connectors.hooks import Scripting
from connectors.nesting import MAX_DEPTH, TooDeep
from connectors.scripts import ScriptLimits, check_syntax
from demo.app import LEDGER_SECRET
from tests.walkthrough import catalog_document, engine_client


def ledger(**changes) -> dict:
    document = copy.deepcopy(catalog_document("connectors", "demo-ledger.json"))
    document.update(changes)
    return document


def credentials(demo_url: str, secret: str = LEDGER_SECRET) -> Credentials:
    return Credentials(secret, {"BaseUrl": demo_url})


async def admin(demo_url: str, path: str, **params) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{demo_url}/admin/{path}", params=params)).json()


async def call(demo_url: str, document: dict, method: str, **options):
    async with engine_client() as client:
        return await call_method(client, parse_connector(document), method,
                                 credentials=options.pop("credentials", credentials(demo_url)), **options)


async def test_signed_and_reshaped_only_with_its_scripts(demo):
    listed = await call(demo.url, ledger(), "list-entries")
    assert listed.records == [{"Id": 1, "Email": "first@example.com", "Amount": 10},
                              {"Id": 2, "Email": "second@example.com", "Amount": 25.5}]
    created = await call(demo.url, ledger(), "create-entry", fields={"Email": "new@example.com", "Amount": "7.5"})
    assert created.records == [{"Id": 3}]
    assert (await admin(demo.url, "ledger"))[-1] == {"id": 3, "email": "new@example.com", "amount": 7.5}

    with pytest.raises(Unauthorized):  # without the script nothing is signed
        await call(demo.url, ledger(Script=None), "list-entries")
    with pytest.raises(Unauthorized):  # signed with the wrong secret
        await call(demo.url, ledger(), "list-entries", credentials=credentials(demo.url, "wrong-secret"))


async def test_after_error_turns_a_404_into_a_success(demo):
    found = await call(demo.url, ledger(), "get-entry", parameters={"EntryId": "2"})
    assert found.records == [{"Id": 2, "Email": "second@example.com", "Found": True}]
    missing = await call(demo.url, ledger(), "get-entry", parameters={"EntryId": "99"})
    assert missing.status == 404 and missing.records == [{"Id": None, "Email": None, "Found": False}]

    document = ledger()
    document["Methods"][1]["Script"] = None
    with pytest.raises(StepError) as raised:
        await call(demo.url, document, "get-entry", parameters={"EntryId": "99"})
    assert raised.value.status == 404


async def test_levels_run_in_order_and_share_action_data(demo):
    document = ledger()
    document["Script"] += (
        "\nvar original = before_action;\n"
        "before_action = function () { action_data.order = (action_data.order || []).concat('connector');"
        " return original(); };\n")
    document["Methods"][0]["Script"] = (
        "function before_action() { action_data.order = ['method']; return true; }\n"
        "function after_action() { method_response.entries.forEach(function (e) {"
        " e.email = action_data.order.join('>') + ':' + e.email; }); }")
    step = "function before_action() { action_data.order.push('step'); }"
    listed = await call(demo.url, document, "list-entries", scripting=Scripting(step_script=step))
    # before_*: method, connector, step; after_*: connector (reshape), then method.
    assert listed.records[0]["Email"] == "method>connector>step:first@example.com"


async def test_before_action_returning_false_skips_the_call(demo):
    document = ledger()
    document["Methods"][0]["Script"] = "function before_action() { return false; }"
    before = len(await admin(demo.url, "requests", prefix="/ledger"))
    skipped = await call(demo.url, document, "list-entries")
    assert skipped.records == [] and "skipped" in skipped.warning
    assert len(await admin(demo.url, "requests", prefix="/ledger")) == before


async def test_http_request_goes_through_the_engine(demo):
    """http_request is synchronous in the script, is signed by nobody but the script, and the
    answer feeds the step; a refused address is refused as any call's would be."""
    document = ledger()
    document["Methods"][0]["Script"] = (
        "function before_action() { action_data.whoami = method_endpoint.replace('/ledger/entries', '/whoami/crm'); }\n"
        "function after_action() {\n"
        "  var who = http_request({method: 'GET', url: action_data.whoami,"
        " headers: {'X-Api-Key': 'demo-crm-key'}});\n"
        "  method_response.entries.forEach(function (e) { e.email = who.status + ':' + who.content.service; });\n"
        "}")
    async with engine_client() as client:
        exchanges = []
        listed = await call_method(client, parse_connector(document), "list-entries",
                                   credentials=credentials(demo.url), on_exchange=exchanges.append)
    assert {r["Email"] for r in listed.records} == {"200:crm"}
    assert [e.url.rsplit("/", 2)[-2:] for e in exchanges] == [["ledger", "entries"], ["whoami", "crm"]]


async def test_a_throwing_script_names_its_line(demo):
    document = ledger()
    document["Methods"][0]["Script"] = "function after_action() {\n  var x = 1;\n  throw new Error('no rows for ' + x);\n}"
    with pytest.raises(ScriptError) as raised:
        await call(demo.url, document, "list-entries")
    assert str(raised.value).endswith("the method script's after_action failed at line 3: Error: no rows for 1")
    assert not raised.value.retryable


async def test_a_script_never_quotes_the_secret(demo):
    document = ledger()
    document["Methods"][0]["Script"] = "function before_action() { throw new Error('key ' + method_auth_value); }"
    with pytest.raises(ScriptError) as raised:
        await call(demo.url, document, "list-entries")
    assert LEDGER_SECRET not in str(raised.value) and "***" in str(raised.value)


async def test_an_endless_script_fails_within_the_limit_and_the_loop_goes_on(demo):
    document = ledger()
    document["Methods"][0]["Script"] = "function before_action() {\n  while (true) {}\n}"
    endless = asyncio.create_task(call(demo.url, document, "list-entries",
                                       scripting=Scripting(limits=ScriptLimits(seconds=2))))
    # Meanwhile the event loop serves other calls: these finish while the script still runs.
    for _ in range(3):
        other = await call(demo.url, ledger(), "list-entries")
        assert len(other.records) == 2
    assert not endless.done()
    with pytest.raises(ScriptError, match="the method script's before_action did not finish within 2 s"):
        await endless


async def test_a_script_allocating_without_bound_fails_with_a_memory_error(demo):
    document = ledger()
    document["Methods"][0]["Script"] = (
        "function after_action() {\n  var all = [];\n  while (true) all.push('x'.repeat(1000) + Math.random());\n}")
    with pytest.raises(ScriptError, match=r"after_action ran out of memory \(limit 32 MiB\)"):
        await call(demo.url, document, "list-entries", scripting=Scripting(limits=ScriptLimits(memory_mb=32)))
    # The same worker goes on: the next call is served.
    assert len((await call(demo.url, ledger(), "list-entries")).records) == 2


async def test_data_a_script_nests_too_deeply_fails_its_call_not_retried(demo):
    document = ledger()
    document["Methods"][0]["Script"] = (  # far deeper than Python's json recursion could read
        "function after_action() {\n  var o = {};\n  for (var i = 0; i < 200000; i++) o = {a: o};\n"
        "  method_response = o;\n}")
    with pytest.raises(TooDeep) as raised:
        await call(demo.url, document, "list-entries")
    assert not raised.value.retryable
    assert str(raised.value) == (f"Demo Ledger list-entries: what the method script's after_action left is nested "
                                 f"deeper than {MAX_DEPTH} levels (the limit)")


async def test_after_action_paging_runs_once_after_the_last_page(demo):
    document = catalog_document("connectors", "demo-paging.json")
    document["Script"] = ("function after_action_paging() {\n"
                          "  method_response.items.push({id: 'after-paging', email: 'last@example.com'});\n}")
    async with httpx.AsyncClient() as admin:
        await admin.post(f"{demo.url}/admin/reset", json={"contacts": 25})
    async with engine_client() as client:
        pages = await fetch_pages(client, parse_connector(document), "number",
                                  credentials=Credentials(properties={"BaseUrl": demo.url}))
    ids = [r["Id"] for r in pages.records]
    assert pages.pages == 3 and ids.count("after-paging") == 1 and ids[-1] == "after-paging"


def test_syntax_errors_name_their_line():
    assert check_syntax("function before_action() {\n  return 1 +;\n}") == "line 2: SyntaxError: Unexpected token ';'"
    assert check_syntax("function before_action() { return true; }") is None
