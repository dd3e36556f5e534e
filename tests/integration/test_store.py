"""The store against SQLite and, where CI provides one, a real PostgreSQL."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import func, select

from store import connectors, cycles, retention, runs, templates, transactions
from store.crypto import decrypt, encrypt, encrypt_json
from store.locks import exclusive
from store.retention import PurgeResult
from store.tables import (
    Account,
    AccountConnector,
    Cycle,
    Plan,
    Run,
    Template,
    ToolCall,
    Transaction,
)
from store.transactions import Outcome, RunRef
from tests.walkthrough import catalog_document


def test_connector_template_install_and_run_bookkeeping(db):
    crm, crm_release = connectors.upload(db, catalog_document("connectors", "demo-crm.json"))
    leads, _ = connectors.upload(db, catalog_document("connectors", "demo-leads.json"))
    assert crm_release.status == "Live"
    _, draft = connectors.upload(db, catalog_document("connectors", "demo-crm.json"))
    assert draft.status == "Draft" and connectors.live_release(db, crm.id).id == crm_release.id

    template = templates.create(db, templates.parse_template(
        catalog_document("templates", "crm-contacts-to-leads.json")))
    account = Account(name="Acme")
    db.add(account)
    for connector, secret in ((crm, "crm-key"), (leads, "leads-token")):
        db.add(AccountConnector(account_id=account.id, connector_id=connector.id,
                                release_id=connectors.live_release(db, connector.id).id, name=connector.name,
                                auth_value=encrypt(secret), properties=encrypt_json({"BaseUrl": "http://x"}),
                                authenticated=True))
    db.commit()
    cycle = cycles.install(db, template, account.id, None, {})
    assert [p.reason for p in cycles.prerequisites(db, cycle)] == ["MissingMapping"]  # Source is unmapped

    run = runs.open_run(db, cycle.id, 1, f"cycle-{cycle.id}-run-1")
    assert runs.open_run(db, cycle.id, 1, "again").id == run.id  # a retried activity finds it
    ref = RunRef(run.id, cycle.id, account.id)

    # A retried fetch rewrites the rows of its page rather than adding to them.
    page = [{"Email": f"c{i}@example.com"} for i in range(1, 6)]
    transactions.write_page(db.connection(), ref, 1, "contacts", "lead", page)
    db.commit()
    transactions.write_page(db.connection(), ref, 1, "contacts", "lead", page[:4])
    db.commit()
    transactions.drop_after(db, run.id, 4)
    waiting = transactions.read_range(db, run.id, 1, 10)
    assert [(w.seq, w.status, w.step, w.path) for w in waiting] == [
        (i, "Pending", "lead", ["contacts", "lead"]) for i in range(1, 5)]
    assert [w.records for w in waiting] == [{"contacts": record} for record in page[:4]]
    odd = [{"Name": "Zoë \u2603 \"quoted\"", "Big": 2**70, "Nested": {"a": [1, 2.5, None, True]}}, {}]
    transactions.write_page(db.connection(), ref, 5, "contacts", "lead", odd)
    db.commit()
    assert [w.records for w in transactions.read_range(db, run.id, 5, 7)] == [{"contacts": r} for r in odd]
    many = [{"Email": f"m{i}@example.com"} for i in range(2 * transactions.ROWS_A_STATEMENT + 3)]
    transactions.write_page(db.connection(), ref, 100, "contacts", "lead", many)  # several statements
    db.commit()
    assert [(w.seq, w.records) for w in transactions.read_range(db, run.id, 100, 100 + len(many))] == [
        (100 + i, {"contacts": r}) for i, r in enumerate(many)]
    transactions.drop_after(db, run.id, 6)
    if db.get_bind().dialect.name == "sqlite":
        # A NaN, as the standard library once wrote records: not JSON to SQLite, read all the same.
        db.execute(text('UPDATE "transaction" SET records = :r WHERE run_id = :id AND seq = 6'),
                   {"r": '{"contacts": {"Score": NaN}}', "id": run.id})
        score = transactions.read_range(db, run.id, 5, 7)[1].records["contacts"]["Score"]
        assert math.isnan(score)
    db.rollback()
    transactions.drop_after(db, run.id, 4)
    if db.get_bind().dialect.name == "sqlite":  # times as SQLAlchemy writes them, so they compare as text
        written = db.execute(text('SELECT created_at FROM "transaction" WHERE run_id = :r'), {"r": run.id}).scalars()
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", t) for t in written)

    # An outcome applies once, to a transaction still waiting at that step.
    ok = Outcome(run.id, 1, "lead", "Success", "lead", ["contacts", "lead"], {**waiting[0].records, "lead": {"LeadId": "l1"}})
    failed = Outcome(run.id, 2, "lead", "Errored", "lead", ["contacts", "lead"], waiting[1].records, "HTTP 400",
                     {"method": "POST", "status": 400})
    transactions.save_outcomes(db.connection(), [ok, failed])
    transactions.save_outcomes(db.connection(), [replace(failed, status="Success")])  # too late
    db.commit()
    assert transactions.counts(db, run.id) == {"Success": 1, "Errored": 1, "Pending": 2}

    seen = []  # what another connection reads at each commit: never an end without its counts
    read = text("SELECT status, succeeded + errored + stopped FROM run WHERE id = :id")

    def reader(_session) -> None:
        with db.get_bind().connect() as other:
            seen.append(tuple(other.execute(read, {"id": run.id}).one()))

    event.listen(db, "after_commit", reader)
    closed = runs.close_run(db, run.id, "Cancelled", "the cycle was stopped", ["page 2 repeated page 1"])
    event.remove(db, "after_commit", reader)
    assert (closed.succeeded, closed.errored, closed.stopped) == (1, 1, 2)
    assert seen and all(status == "Running" or total == 4 for status, total in seen), seen
    stored = {t.seq: t for t in db.exec(select(Transaction).where(Transaction.run_id == run.id))}
    assert stored[1].records["lead"] == {"LeadId": "l1"} and stored[2].exchange["status"] == 400
    assert stored[1].records["contacts"] == page[0] and stored[1].created_at <= stored[1].updated_at
    assert stored[3].status == "Stopped" and "the cycle was stopped" in stored[3].message

    second = runs.open_run(db, cycle.id, 2, f"cycle-{cycle.id}-run-2")
    runs.close_run(db, second.id, "Succeeded", None, [])
    assert all(s.last_successful_run_at == second.started_at for s in cycles.steps(db, cycle.id))


def test_credentials_are_encrypted_at_rest(db):
    token = encrypt("super-secret")
    assert "super-secret" not in token and decrypt(token) == "super-secret"


def test_purge_deletes_what_each_account_keeps_no_longer(db, monkeypatch):
    monkeypatch.setattr(retention, "ROWS_PER_DELETE", 3)  # several batches for one run
    now, day = datetime.now(UTC), timedelta(days=1)
    brief, default = Account(name="Brief", retention_days=1), Account(name="Default")
    template = Template(name="Sync", document={})
    brief_cycle, default_cycle = (Cycle(account_id=a.id, template_id=template.id, name="c") for a in (brief, default))
    for rows in ([brief, default, template], [brief_cycle, default_cycle]):  # parents first
        db.add_all(rows)
        db.commit()

    def run(cycle: Cycle, number: int, status: str, age: timedelta, records: int, pending: int = 0) -> str:
        """A run that ended `age` ago (unless Running), with `records` transactions; its plan's id."""
        plan = Plan(cycle_id=cycle.id, steps=[], created_at=now - age - timedelta(hours=1))
        row = Run(cycle_id=cycle.id, number=number, plan_id=plan.id, status=status, workflow_id=f"run-{number}",
                  started_at=plan.created_at, finished_at=None if status == "Running" else now - age)
        for rows in ([plan], [row], [Transaction(
                run_id=row.id, cycle_id=cycle.id, account_id=cycle.account_id, seq=seq, step="s", path=[],
                records={}, status="Pending" if seq <= pending else "Success") for seq in range(1, records + 1)]):
            db.add_all(rows)
            db.flush()
        db.commit()
        return plan.id

    # Past their account's retention: 1 day for `brief`, the default (31) for `default`.
    run(brief_cycle, 1, "Succeeded", 2 * day, records=7)
    run(brief_cycle, 2, "Cancelled", 2 * day, records=1)
    run(default_cycle, 1, "Failed", 40 * day, records=2)
    kept = [run(brief_cycle, 3, "Running", 2 * day, records=4, pending=4),
            run(brief_cycle, 4, "Succeeded", 2 * day, records=3, pending=1),  # a transaction retry in progress
            run(brief_cycle, 5, "Succeeded", day / 24, records=2),
            run(default_cycle, 2, "Succeeded", 10 * day, records=2)]
    # Plans made by transaction retries: no run uses them.
    old_retry, new_retry = (Plan(cycle_id=brief_cycle.id, steps=[], created_at=now - age) for age in (2 * day, day / 2))
    db.add_all([old_retry, new_retry])
    db.commit()
    kept.append(new_retry.id)

    # Agents' tool calls: those that ended before their account's cutoff go; one awaiting approval stays.
    def tool_call(account: Account, id: str, status: str, age: timedelta) -> None:
        db.add(ToolCall(id=id, account_id=account.id, account_connector_id="ac", method="m", tool="t", status=status,
                        arguments="", created_at=now - age, finished_at=None if status == "AwaitingApproval" else
                        now - age))
        db.commit()

    tool_call(brief, "ended-long-ago", "Completed", 2 * day)
    tool_call(brief, "ended-lately", "Rejected", day / 24)
    tool_call(brief, "awaiting", "AwaitingApproval", 2 * day)
    tool_call(default, "failed-long-ago", "Failed", 40 * day)
    tool_call(default, "expired-lately", "Expired", 10 * day)

    assert retention.purge(db, now, default_days=31) == PurgeResult(runs=3, transactions=7 + 1 + 2, plans=3 + 1,
                                                                    tool_calls=2)
    assert set(db.exec(select(ToolCall.id))) == {"ended-lately", "awaiting", "expired-lately"}
    assert set(db.exec(select(Plan.id))) == set(kept)
    remaining = db.exec(select(Run.number, func.count()).join(Transaction).group_by(Run.id, Run.number)).all()
    assert sorted(count for _, count in remaining) == [2, 2, 3, 4]
    assert retention.purge(db, now, default_days=31) == PurgeResult()  # nothing left to do


def test_every_sqlite_connection_writes_ahead_and_commits_without_a_sync(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own settings")

    with engine.connect() as one, engine.connect() as two, exclusive(["x"], engine) as locking:
        for connection in (one, two, locking):  # the pool's, and the lock's own engine's
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
