"""Acceptance (CollectionSplit): First makes each trigger record a transaction; All splits every
nested collection (one transaction per order line); None makes the whole collection one
transaction, which a PagedOutbound method sends in chunks, each with its own idempotency key."""

from __future__ import annotations

from tests.templating import (
    contacts_trigger,
    demo_requests,
    field,
    install_template,
    orders_trigger,
    run_once,
    storage,
    transactions,
)

ORDERS = [
    {"id": "o1", "customer": "ann@example.com", "lines": [{"sku": "A", "qty": 1}]},
    {"id": "o2", "customer": "bob@example.com", "lines": [{"sku": "B", "qty": 2}, {"sku": "C", "qty": 3}]},
    {"id": "o3", "customer": "cat@example.com", "lines": [{"sku": "D", "qty": 4}, {"sku": "E", "qty": 5},
                                                          {"sku": "F", "qty": 6}]},
    {"id": "o4", "customer": "dan@example.com", "lines": []},
]


def counting(split: str, **on_trigger: str) -> dict:
    """Orders → a count of transactions → a total of Qty (an Increment without a value adds 1)."""
    return {"Name": f"Orders split {split} {on_trigger}", "CollectionSplit": split, "Steps": [
        orders_trigger("count", **on_trigger),
        {"Id": "count", "Type": "Storage", "Operation": "Increment", "Key": "transactions", "Next": "quantity"},
        {"Id": "quantity", "Type": "Storage", "Operation": "Increment", "Key": "quantity",
         "Value": field("orders", "Qty"), "OnError": "StopTransaction"},
    ]}


async def test_first_makes_each_trigger_record_a_transaction_with_its_lines_as_lists(api, demo):
    cycle = await install_template(api, demo.url, counting("First"), orders=ORDERS)
    run = await run_once(cycle)
    listed = await transactions(cycle)
    assert [t["Records"]["orders"]["Id"] for t in listed] == ["o1", "o2", "o3", "o4"]
    assert [t["Records"]["orders"]["Sku"] for t in listed] == [["A"], ["B", "C"], ["D", "E", "F"], []]
    # Unsplit, an order's quantities are a list, no number to add: each transaction stops there.
    assert run["Transactions"] == {"Success": 0, "Errored": 0, "Stopped": 4}
    assert all("not a number" in t["Message"] for t in listed)
    assert await storage(cycle) == {"transactions": 4}


async def test_all_splits_nested_collections_one_transaction_per_line(api, demo):
    cycle = await install_template(api, demo.url, counting("First", CollectionSplit="All"), orders=ORDERS)
    run = await run_once(cycle)  # the trigger's own CollectionSplit overrides the template's
    assert run["Transactions"] == {"Success": 7, "Errored": 0, "Stopped": 0}
    lines = [t["Records"]["orders"] for t in await transactions(cycle)]
    assert [(r["Id"], r["Customer"], r["Sku"], r["Qty"]) for r in lines] == [
        ("o1", "ann@example.com", "A", 1),
        ("o2", "bob@example.com", "B", 2), ("o2", "bob@example.com", "C", 3),
        ("o3", "cat@example.com", "D", 4), ("o3", "cat@example.com", "E", 5), ("o3", "cat@example.com", "F", 6),
        ("o4", "dan@example.com", None, None),  # no lines: the order itself, once
    ]
    assert await storage(cycle) == {"transactions": 7, "quantity": 1 + 2 + 3 + 4 + 5 + 6 + 1}


BATCH = {"Name": "Contacts to leads in one batch", "CollectionSplit": "None", "Steps": [
    contacts_trigger("leads"),
    {"Id": "leads", "Name": "Create leads", "Connector": "Demo Batch Leads", "Method": "create-leads",
     "Next": "count", "FieldMappings": [
         {"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
         {"Field": "Source", "MappingType": "StaticValue", "Value": "batch"}]},
    {"Id": "count", "Type": "Storage", "Operation": "Increment", "Key": "batches"},
]}


async def test_none_is_one_transaction_sent_in_chunks_each_with_its_own_idempotency_key(api, demo):
    cycle = await install_template(api, demo.url, BATCH, contacts=25)
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 1, "Errored": 0, "Stopped": 0}
    (one,) = await transactions(cycle)
    assert one["Number"] == 0 and one["Path"] == ["contacts", "leads", "count"]
    assert [r["Email"] for r in one["Records"]["contacts"]] == [f"contact{i}@example.com" for i in range(1, 26)]
    assert await storage(cycle) == {"batches": 1}  # one transaction through the later steps

    stats = await cycle.demo_stats()
    assert stats["leads_created"] == stats["distinct_emails"] == 25
    assert [b["size"] for b in stats["batches"]] == [10, 10, 5]  # PageSizeOutbound 10
    keys = [b["key"] for b in stats["batches"]]
    assert all(keys) and len(set(keys)) == 3
    assert len(await demo_requests(cycle, "/crm/contacts")) == 1


async def test_a_chunk_sent_again_is_recognised_by_its_key_and_creates_nothing_twice(api, demo):
    cycle = await install_template(api, demo.url, {**BATCH, "Name": "Batch, resent"}, contacts=25)
    # The second chunk fails once as a server error: the step's activity is retried by Temporal
    # and sends its chunks again; the keys let the demo create each lead once.
    await cycle.demo("faults", status=503, count=1, path="/leads/batch", body_contains="contact11@example.com")
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 1, "Errored": 0, "Stopped": 0}
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == stats["distinct_emails"] == 25
    keys = [b["key"] for b in stats["batches"]]
    assert len(keys) == 4 and len(set(keys)) == 3  # the first chunk twice, under one key
