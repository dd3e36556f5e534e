"""Run bookkeeping: runs, how they ended, and the cycle status their workflows report."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import or_, update
from sqlmodel import Session, select

from store import partner_events, transactions
from store.database import session
from store.plans import create_plan
from store.tables import Cycle, CycleStep, Run, utcnow
from store.transactions import RunRef

# What a run's unfinished transactions become when it ends without reaching them.
UNFINISHED = {"Failed": "Errored", "Cancelled": "Stopped", "Succeeded": "Errored"}


def open_run(db: Session, cycle_id: str, number: int, workflow_id: str) -> Run:
    """The run row for (cycle, number), with its plan: made once, found again by a retry or
    after the run continued as new."""
    run = db.exec(select(Run).where(Run.cycle_id == cycle_id, Run.number == number)).first()
    if run is None:
        plan = create_plan(db, cycle_id)
        run = Run(cycle_id=cycle_id, number=number, workflow_id=workflow_id, plan_id=plan.id)
        db.add(run)
        db.commit()
    return run


def close_run(db: Session, run_id: str, status: str, message: str | None, warnings: list[str]) -> Run:
    """Record how the run ended and count its transactions; a successful run moves every
    step's LastSuccessfulRunDate."""
    run = db.get(Run, run_id)
    failed = status == "Failed" and run.status == "Running"  # not closed already, by an earlier try
    reason = message or "the run ended before this transaction was processed"
    transactions.finish_pending(db, run_id, UNFINISHED[status], f"not processed: {reason}")
    run.status, run.message, run.warnings, run.finished_at = status, message, warnings, utcnow()
    if status == "Succeeded":
        for step in db.exec(select(CycleStep).where(CycleStep.cycle_id == run.cycle_id)):
            step.last_successful_run_at = run.started_at
    if failed:
        partner_events.run_failed(db, run, transactions.counts(db, run_id))
    return transactions.recount(db, run_id)  # one commit: the status never shows without its counts


def save_cycle_status(db: Session, cycle_id: str, status: str, owner: str, seq: int,
                      reason: str | None = None) -> None:
    """A status from the cycle's workflow `owner` (its first run id), its `seq`-th write.

    Applied unless this workflow already wrote a later one: so a retried or late write never
    turns a Stopped cycle back to Active. An applied change is told to the partner's backend in
    the same commit (store/partner_events.py): the first write of a new workflow activated it."""
    cycle = Cycle.__table__
    values = {"status": status, "status_owner": owner, "status_seq": seq, "status_reason": reason}
    started = db.execute(update(cycle).where(
        cycle.c.id == cycle_id, or_(cycle.c.status_owner.is_(None), cycle.c.status_owner != owner),
    ).values(values)).rowcount == 1
    applied = started or db.execute(update(cycle).where(
        cycle.c.id == cycle_id, cycle.c.status_owner == owner, cycle.c.status_seq < seq,
    ).values(values)).rowcount == 1
    if applied:
        partner_events.status_changed(db, cycle_id, status, reason, started)
    db.commit()


def claim_active(db: Session, cycle_id: str, owner: str) -> None:
    """The API's note that workflow `owner` was started: Active, unless the workflow has
    already written a status of its own (which is newer)."""
    save_cycle_status(db, cycle_id, "Active", owner, 0)


@lru_cache(maxsize=1024)
def run_ref(run_id: str) -> RunRef:
    """Which cycle and account a run's transactions belong to (it never changes)."""
    with session() as db:
        run = db.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} does not exist")
        return RunRef(run.id, run.cycle_id, db.get(Cycle, run.cycle_id).account_id)


def reconcile_stopped(db: Session, cycle: Cycle) -> None:
    """A cycle whose workflow no longer runs (it was terminated, say) is Stopped, whatever its
    workflow last wrote. A cycle that never had one keeps its status (Paused)."""
    if cycle.status_owner is not None and cycle.status != "Stopped":
        cycle.status = "Stopped"
        db.flush()
        partner_events.status_changed(db, cycle.id, "Stopped", None, started=False)
        db.commit()
