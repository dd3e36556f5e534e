"""Acceptance (step types): DESIGN §3's example template over the demo APIs (a Decision routes
each contact to Create lead or to a Storage increment and a Delay), WaitUntil and Delay."""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import UTC, datetime

from tests.templating import (
    contacts_trigger,
    create_lead,
    demo_requests,
    field,
    install_template,
    moment,
    orders_trigger,
    run_once,
    storage,
    timers,
    transactions,
)

EXAMPLE = {  # DESIGN §3, with the Delay after the Storage step (there, nothing leads to it)
    "Name": "CRM contacts to leads (DESIGN §3)",
    "CollectionSplit": "First",
    "Steps": [
        contacts_trigger("active?", Type="Method"),
        {"Id": "active?", "Type": "Decision",
         "Condition": {"Left": field("contacts", "Status"), "Operator": "Equals",
                       "Right": {"MappingType": "StaticValue", "Value": "active"}},
         "TrueNext": "lead", "FalseNext": "skipped"},
        create_lead(field("contacts", "Email"), Type="Method", OnError="Retry"),
        {"Id": "skipped", "Type": "Storage", "Scope": "Cycle", "Operation": "Increment", "Key": "skipped",
         "Next": "pause"},
        {"Id": "pause", "Type": "Delay", "Seconds": 1},
    ],
}


async def test_design_example_routes_each_contact_and_counts_at_the_api_and_in_storage(api, demo, temporal):
    cycle = await install_template(api, demo.url, EXAMPLE, contacts=10)
    run = await run_once(cycle)
    # Contacts 3, 6 and 9 are inactive (the demo makes every third one so).
    assert run["Status"] == "Succeeded" and run["Transactions"] == {"Success": 10, "Errored": 0, "Stopped": 0}

    stats = await cycle.demo_stats()
    active = {f"contact{i}@example.com" for i in range(1, 11) if i % 3}
    assert stats["lead_requests"] == stats["leads_created"] == 7 and set(stats["emails"]) == active
    assert await storage(cycle) == {"skipped": 3}

    for t in await transactions(cycle):
        contact = t["Records"]["contacts"]
        if contact["Status"] == "active":
            assert t["Path"] == ["contacts", "active?", "lead"] and t["Records"]["active?"] == {"Result": True}
            assert t["Records"]["lead"]["Email"] == contact["Email"] and t["Records"]["lead"]["LeadId"]
        else:
            assert t["Path"] == ["contacts", "active?", "skipped", "pause"]
            assert t["Records"]["active?"] == {"Result": False}
            assert t["Records"]["skipped"]["Key"] == "skipped" and 1 <= t["Records"]["skipped"]["Value"] <= 3
        assert t["Status"] == "Success"
    # The Delay is a Temporal timer of its Seconds, one for the range that reached it.
    assert await timers(temporal.client, run["WorkflowId"]) == [1.0]


async def test_storage_counts_across_runs_in_cycle_and_account_scopes(api, demo):
    template = {"Name": "Counting contacts", "Steps": [
        contacts_trigger("count"),
        {"Id": "count", "Type": "Storage", "Operation": "Increment", "Key": "contacts", "Next": "total"},
        {"Id": "total", "Type": "Storage", "Scope": "Account", "Operation": "Increment", "Key": "points",
         "Value": {"MappingType": "StaticValue", "Value": "2.5"}, "Next": "last"},
        {"Id": "last", "Type": "Storage", "Operation": "Set", "Key": "last", "Next": "when",
         "Value": {"MappingType": "Expression", "Expression": "{{contacts.Id}} of {{count.Value}}"}},
        {"Id": "when", "Type": "Storage", "Operation": "Set", "Key": "when",  # a date is kept as ISO 8601
         "Value": {"MappingType": "StaticValue", "Value": "2026-01-02 03:04", "DataType": "DateTime"}},
    ]}
    cycle = await install_template(api, demo.url, template, contacts=4)
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 4, "Errored": 0, "Stopped": 0}
    kept = await storage(cycle)
    assert kept["contacts"] == 4 and kept["when"] == "2026-01-02T03:04:00+00:00"
    assert kept["last"] in {f"c{i} of {n}" for i in range(1, 5) for n in range(1, 5)}
    assert await storage(cycle, "account") == {"points": 10}
    counted = sorted(t["Records"]["count"]["Value"] for t in await transactions(cycle))
    assert counted == [1, 2, 3, 4]  # each increment counted once, and saw its own result


def orders_due(*seconds_from_now: float) -> tuple[list[dict], float]:
    """Orders due so many seconds from a whole second a little ahead (one order each)."""
    base = math.ceil(time.time()) + 4
    due = [datetime.fromtimestamp(base + s, UTC).isoformat() for s in seconds_from_now]
    return [{"id": f"o{i}", "customer": f"buyer{i}@example.com", "due": d, "lines": []}
            for i, d in enumerate(due, 1)], base


async def test_wait_until_a_date_field_holds_each_transaction_until_then_one_timer_per_wake_time(
        api, demo, temporal):
    # Two ranges of transactions (10 a range), each holding both wake times, and one overdue.
    orders, base = orders_due(*[0, 2] * 6, -3600)
    template = {"Name": "Orders when due", "Steps": [
        orders_trigger("due"),
        {"Id": "due", "Type": "WaitUntil", "Until": field("orders", "Due"), "Next": "lead"},
        create_lead(field("orders", "Customer")),
    ]}
    cycle = await install_template(api, demo.url, template, orders=orders)
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 13, "Errored": 0, "Stopped": 0}

    sent = {r["headers"]["idempotency-key"]: r["at"] for r in await demo_requests(cycle, "/leads/contacts")}
    assert len(sent) == 13
    for t in await transactions(cycle):
        assert t["Path"] == ["orders", "due", "lead"]
        assert moment(t["Records"]["due"]["WakeAt"]) == moment(t["Records"]["orders"]["Due"])
    leads_at = sorted(sent.values())
    # The overdue order goes on at once; each other one not before it is due.
    assert leads_at[0] < base
    assert all(at >= base for at in leads_at[1:]) and all(at >= base + 2 for at in leads_at[-6:])
    # One timer per wake time for the whole run, not per transaction or range: two.
    waits = await timers(temporal.client, run["WorkflowId"])
    assert len(waits) == 2 and all(0 < w <= 8 for w in waits)


async def test_wait_until_a_fixed_date(api, demo, temporal):
    base = math.ceil(time.time()) + 2
    template = {"Name": "Contacts at a fixed time", "Steps": [
        contacts_trigger("at"),
        {"Id": "at", "Type": "WaitUntil", "Next": "lead",
         "Until": {"MappingType": "StaticValue", "Value": datetime.fromtimestamp(base, UTC).isoformat()}},
        create_lead(field("contacts", "Email")),
    ]}
    cycle = await install_template(api, demo.url, template, contacts=3)
    run = await run_once(cycle)
    assert run["Transactions"]["Success"] == 3
    sent = [r["at"] for r in await demo_requests(cycle, "/leads/contacts")]
    assert len(sent) == 3 and min(sent) >= base
    assert len(await timers(temporal.client, run["WorkflowId"])) == 1


async def test_delay_holds_the_transactions_for_its_seconds(api, demo, temporal):
    template = {"Name": "Contacts after a pause", "Steps": [
        contacts_trigger("pause"),
        {"Id": "pause", "Type": "Delay", "Seconds": 2, "Next": "lead"},
        create_lead(field("contacts", "Email")),
    ]}
    cycle = await install_template(api, demo.url, template, contacts=3)
    run = await run_once(cycle)
    assert run["Transactions"]["Success"] == 3
    (read,) = [r["at"] for r in await demo_requests(cycle, "/crm/contacts")]
    sent = [r["at"] for r in await demo_requests(cycle, "/leads/contacts")]
    assert len(sent) == 3 and min(sent) >= read + 2
    assert await timers(temporal.client, run["WorkflowId"]) == [2.0]
    assert Counter(tuple(t["Path"]) for t in await transactions(cycle)) == {("contacts", "pause", "lead"): 3}


async def test_mappings_resolve_per_transaction_in_a_run(api, demo):
    template = {"Name": "Mappings in a run", "Steps": [
        contacts_trigger("tier"),
        {"Id": "tier", "Type": "Storage", "Operation": "Set", "Key": "tier", "Next": "label", "Value": {
            "MappingType": "ValueList", "SourceStep": "contacts", "SourceField": "Status",
            "Values": {"active": "gold"}, "Default": "none"}},
        {"Id": "label", "Type": "Storage", "Operation": "Set", "Key": "label", "Next": "region", "Value": {
            "MappingType": "Expression", "Expression": "{{contacts.Id}}:{{tier.Value}}:{{contacts.Notes}}"}},
        {"Id": "region", "Type": "Storage", "Scope": "Account", "Operation": "Set", "Key": "region",
         "Value": {"MappingType": "Variable", "Variable": "Region"}},
    ]}
    cycle = await install_template(api, demo.url, template, contacts=3)
    await cycle.call("PUT", "/v1.0/account/variables/Region", json={"Value": "EU"})
    run = await run_once(cycle)
    assert run["Transactions"]["Success"] == 3
    records = [t["Records"] for t in await transactions(cycle)]
    assert [r["tier"]["Value"] for r in records] == ["gold", "gold", "none"]  # contact 3 is inactive
    assert [r["label"]["Value"] for r in records] == ["c1:gold:", "c2:gold:", "c3:none:"]  # empty Notes: empty
    assert [r["region"]["Value"] for r in records] == ["EU"] * 3
