"""The inbound queue: events accepted only for cycles that take them, each taken into exactly one
transaction however often a take is retried."""

from __future__ import annotations

import json
import time

from store import connectors, cycles, inbound, runs, templates
from store.signatures import Signature
from store.tables import Account, AccountConnector, Cycle, Transaction
from store.transactions import RunRef
from tests.walkthrough import catalog_document

TEMPLATE = {"Name": "events", "Steps": [
    {"Id": "event", "Type": "Webhook", "Next": "lead"},
    {"Id": "lead", "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
        {"Field": "Email", "MappingType": "StepField", "SourceStep": "event", "SourceField": "email"},
        {"Field": "Source", "MappingType": "StaticValue", "Value": "hook"}]}]}


def _webhook_cycle(db) -> Cycle:
    leads, release = connectors.upload(db, catalog_document("connectors", "demo-leads.json"))
    account = Account(name="Hooks")
    db.add(account)
    db.add(AccountConnector(account_id=account.id, connector_id=leads.id, release_id=release.id, name="leads"))
    db.commit()
    return cycles.install(db, templates.create(db, templates.parse_template(TEMPLATE)), account.id, None, {})


def test_events_are_accepted_for_active_cycles_and_taken_once(db):
    cycle = _webhook_cycle(db)
    step = cycles.steps(db, cycle.id)[0]
    assert step.webhook_id and len(step.webhook_id) >= 32  # unguessable
    hook = inbound.webhook(db, step.webhook_id)
    assert (hook.cycle_id, hook.step_id, hook.secret) == (cycle.id, step.id, None)
    event = lambda i: inbound.Event(cycle.id, step.id, json.dumps({"email": f"e{i}@example.com"}))

    connection = db.get_bind().connect()  # as the API's writer: a connection of its own
    assert inbound.accept(connection, [event(0)]) == ["closed"]  # installed, never activated
    runs.save_cycle_status(db, cycle.id, "Active", "owner", 1)
    assert inbound.accept(connection, [event(i) for i in range(1, 6)]) == ["queued"] * 5
    assert inbound.pending(db, cycle.id) == 5

    run = runs.open_run(db, cycle.id, 1, "run-1")
    ref = RunRef(run.id, cycle.id, cycle.account_id)

    def take(first: int, limit: int) -> int:
        taken = [inbound.Taken(e.id, [json.loads(e.body)]) for e in inbound.oldest(db, cycle.id, limit)]
        return inbound.take(db, ref, first, taken, "event", "lead")

    assert take(1, 3) == 3
    assert take(1, 3) == 3  # a retry whose first attempt committed: nothing new taken
    assert inbound.pending(db, cycle.id) == 2
    assert take(4, 3) == 2
    assert take(6, 3) == 0  # the queue is empty
    rows = db.query(Transaction).filter(Transaction.run_id == run.id).order_by(Transaction.seq).all()
    assert [(r.seq, r.records["event"]["email"], r.step) for r in rows] == [
        (i, f"e{i}@example.com", "lead") for i in range(1, 6)]  # each event once, in order

    runs.save_cycle_status(db, cycle.id, "Stopped", "owner", 2)
    assert inbound.accept(connection, [event(9)]) == ["closed"]
    connection.close()


def test_an_event_taken_by_another_attempt_is_not_taken_twice_and_errors_do_not_block(db):
    cycle = _webhook_cycle(db)
    step = cycles.steps(db, cycle.id)[0]
    runs.save_cycle_status(db, cycle.id, "Active", "owner", 1)
    connection = db.get_bind().connect()
    bodies = [{"email": "a@example.com"}, {"poison": True}, {"ping": True}, {"email": "b@example.com"}]
    assert inbound.accept(connection, [inbound.Event(cycle.id, step.id, json.dumps(b)) for b in bodies]) == ["queued"] * 4
    connection.close()
    ref = RunRef(runs.open_run(db, cycle.id, 1, "run-1").id, cycle.id, cycle.account_id)
    a, poison, ping, b = inbound.oldest(db, cycle.id, 10)
    read = [inbound.Taken(a.id, [{"email": "a@example.com"}]),
            inbound.Taken(poison.id, [], "the event could not be read: …", {"poison": True}),
            inbound.Taken(ping.id, []),  # a script dropped it
            inbound.Taken(b.id, [{"email": "b@example.com"}])]
    stale = [inbound.Taken(a.id, [{"email": "a@example.com"}])]

    assert inbound.take(db, ref, 1, read, "event", "lead") == 3
    assert inbound.take(db, ref, 9, stale, "event", "lead") == 0  # taken already: rolled back
    assert inbound.pending(db, cycle.id) == 0
    rows = db.query(Transaction).filter(Transaction.run_id == ref.run_id).order_by(Transaction.seq).all()
    assert [(r.seq, r.status, r.step, r.records["event"]) for r in rows] == [
        (1, "Pending", "lead", {"email": "a@example.com"}),
        (2, "Errored", "event", {"poison": True}),
        (3, "Pending", "lead", {"email": "b@example.com"})]
    assert rows[1].message == "the event could not be read: …"

    cycle = db.get(Cycle, cycle.id)
    assert inbound.requeue(db, cycle, rows[0]) is None  # not an event that could not be read
    assert inbound.requeue(db, cycle, rows[1]) is True
    assert [json.loads(e.body) for e in inbound.oldest(db, cycle.id, 10)] == [{"poison": True}]
    assert (rows[1].status, rows[1].message) == ("Success", inbound.REQUEUED)


def test_a_signed_event_is_queued_with_its_signature_taken_in_one_commit(db):
    """A replay in the same group commit, or a later one, is refused while the other events of
    the batch are queued; an event its closed cycle refused leaves its signature untaken."""
    cycle = _webhook_cycle(db)
    step = cycles.steps(db, cycle.id)[0]
    now = int(time.time())
    signed = lambda n, value: inbound.Event(cycle.id, step.id, json.dumps({"n": n}), Signature(step.id, value, now))
    connection = db.get_bind().connect()
    assert inbound.accept(connection, [signed(0, "aa" * 32)]) == ["closed"]  # installed, never activated
    runs.save_cycle_status(db, cycle.id, "Active", "owner", 1)
    batch = [signed(1, "aa" * 32), signed(1, "aa" * 32), inbound.Event(cycle.id, step.id, "{}"), signed(2, "bb" * 32)]
    assert inbound.accept(connection, batch) == ["queued", "replayed", "queued", "queued"]
    assert inbound.accept(connection, [signed(2, "bb" * 32), signed(3, "cc" * 32)]) == ["replayed", "queued"]
    connection.close()
    assert [json.loads(e.body) for e in inbound.oldest(db, cycle.id, 10)] == [{"n": 1}, {}, {"n": 2}, {"n": 3}]


def test_an_events_transactions_carry_its_id_and_no_id_is_used_twice(db):
    """What a template tool's call (api/agents/template_tools.py) follows: the event's id on
    the transactions made from it, an id no later event gets (even after the queue empties)."""
    cycle = _webhook_cycle(db)
    step = cycles.steps(db, cycle.id)[0]
    runs.save_cycle_status(db, cycle.id, "Active", "owner", 1)
    connection = db.get_bind().connect()
    run = runs.open_run(db, cycle.id, 1, "run-1")
    ref = RunRef(run.id, cycle.id, cycle.account_id)
    ids = []
    for i in range(3):  # each event queued, then taken (two records from the last), emptying the queue
        admission, event_id = inbound.accept_one(connection, inbound.Event(cycle.id, step.id, json.dumps({"n": i})))
        assert admission == "queued"
        assert [e.id for e in inbound.oldest(db, cycle.id, 10)] == [event_id]
        inbound.take(db, ref, 1 + 2 * i, [inbound.Taken(event_id, [{"n": i}] * (1 + (i == 2)))], "event", "lead")
        ids.append(event_id)
    assert len(set(ids)) == 3  # SQLite would give an emptied queue's next event the id 1 again
    rows = db.query(Transaction).filter(Transaction.run_id == run.id).order_by(Transaction.seq).all()
    assert [(r.records["event"]["n"], r.inbound_event_id) for r in rows] == [
        (0, ids[0]), (1, ids[1]), (2, ids[2]), (2, ids[2])]

    runs.save_cycle_status(db, cycle.id, "Stopped", "owner", 2)
    assert inbound.accept_one(connection, inbound.Event(cycle.id, step.id, "{}")) == ("closed", None)
    connection.close()
