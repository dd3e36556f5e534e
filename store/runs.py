"""Run bookkeeping: runs, their errored transactions, and the cycle status they report."""

from __future__ import annotations

from sqlmodel import Session, select

from store.tables import Cycle, CycleStep, FieldMapping, Run, Transaction, utcnow


def open_run(db: Session, cycle_id: str, number: int, workflow_id: str) -> Run:
    """The run row for (cycle, number): created once, found again when an activity retries."""
    run = db.exec(select(Run).where(Run.cycle_id == cycle_id, Run.number == number)).first()
    if run is None:
        run = Run(cycle_id=cycle_id, number=number, workflow_id=workflow_id)
        db.add(run)
        db.commit()
    return run


def close_run(
    db: Session, run_id: str, status: str, succeeded: int, errored: int, message: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Record how the run ended; a successful run moves every step's LastSuccessfulRunDate."""
    run = db.get(Run, run_id)
    run.status, run.succeeded, run.errored = status, succeeded, errored
    run.message, run.warnings, run.finished_at = message, warnings or [], utcnow()
    if status == "Succeeded":
        for step in db.exec(select(CycleStep).where(CycleStep.cycle_id == run.cycle_id)):
            step.last_successful_run_at = run.started_at
    db.commit()


def save_errors(db: Session, run_id: str, cycle_id: str, step_id: str, errors: dict[str, str]) -> None:
    """Errored transactions by key; a retried batch finds its earlier rows and leaves them."""
    existing = set(
        db.exec(select(Transaction.key).where(Transaction.run_id == run_id, Transaction.key.in_(errors)))
    )
    for key, message in errors.items():
        if key not in existing:
            db.add(Transaction(run_id=run_id, cycle_id=cycle_id, key=key, status="Errored",
                               step_id=step_id, message=message))
    db.commit()


def save_cycle_status(db: Session, cycle_id: str, status: str) -> None:
    cycle = db.get(Cycle, cycle_id)
    if cycle is not None:
        cycle.status = status
        db.commit()


def cycle_steps(db: Session, cycle_id: str) -> list[tuple[CycleStep, list[FieldMapping]]]:
    steps = db.exec(select(CycleStep).where(CycleStep.cycle_id == cycle_id).order_by(CycleStep.position))
    return [
        (step, list(db.exec(select(FieldMapping).where(FieldMapping.step_id == step.id))))
        for step in steps
    ]
